// Small pure pieces of the annotation app: display-order mapping, majority resolution, gold schedule, audit size,
// import parsing, SQLite placeholder rewriting, the password policy, username look-alikes.
import { describe, expect, it } from 'vitest';
import { resolveByMajority } from '../../src/annotate/aggregate.js';
import { toPositional } from '../../src/annotate/db/sqlite.js';
import { ImportError, parseImport } from '../../src/annotate/import.js';
import { submissionToLabel, type LabelSubmission, type PairLabel } from '../../src/annotate/model.js';
import { passwordProblem } from '../../src/annotate/passwords.js';
import { goldIsDue } from '../../src/annotate/store/assignments.js';
import { normaliseUsername, usernameProblem, usernameSkeleton } from '../../src/annotate/usernames.js';
import { auditSampleSize } from '../../src/annotate/store/projects.js';
import { pkuJsonl, QUALIFICATION_PAIRS } from './helpers.js';

const submission: LabelSubmission = {
  moreHelpful: 'left',
  moreHarmless: 'right',
  left: { safe: false, categories: ['Violence', 'Drugs'], severity: 'moderate' },
  right: { safe: true, categories: [], severity: null },
};

describe('submissionToLabel', () => {
  it('maps left/right to responses 0/1 and back when the order was swapped', () => {
    expect(submissionToLabel(submission, false)).toEqual({
      better: 0,
      safer: 1,
      isSafe: [false, true],
      // canonical dataset order: Violence comes before Drugs in the 19 categories
      categories: [['Violence', 'Drugs'], []],
      severity: [2, 0],
    });
    // Response 1 was on the left: everything flips.
    expect(submissionToLabel(submission, true)).toEqual({
      better: 1,
      safer: 0,
      isSafe: [true, false],
      categories: [[], ['Violence', 'Drugs']],
      severity: [0, 2],
    });
  });
});

function label(better: 0 | 1, safer: 0 | 1, unsafe1: { cats: PairLabel['categories'][1]; sev: 1 | 2 | 3 } | null): PairLabel {
  return {
    better,
    safer,
    isSafe: [true, unsafe1 === null],
    categories: [[], unsafe1 ? unsafe1.cats : []],
    severity: [0, unsafe1 ? unsafe1.sev : 0],
  };
}

describe('resolveByMajority', () => {
  it('takes the majority per judgement, majority categories and the lower median severity', () => {
    const r = resolveByMajority([
      label(0, 0, { cats: ['Violence', 'Drugs'], sev: 3 }),
      label(0, 0, { cats: ['Violence'], sev: 1 }),
      label(1, 0, { cats: ['Violence', 'Cybercrime'], sev: 2 }),
    ]);
    expect(r.ties).toEqual([]);
    expect(r.label).toEqual({ better: 0, safer: 0, isSafe: [true, false], categories: [[], ['Violence']], severity: [0, 2] });
    expect(r.inconsistent).toBe(false);
  });
  it('falls back to the most named categories when none has a majority of the unsafe votes', () => {
    const r = resolveByMajority([label(0, 0, { cats: ['Drugs'], sev: 1 }), label(0, 0, { cats: ['Violence'], sev: 2 }), label(0, 0, null)]);
    expect(r.label?.isSafe).toEqual([true, false]);
    expect(r.label?.categories[1]).toEqual(['Violence', 'Drugs']);
    // lower median of [1, 2]
    expect(r.label?.severity[1]).toBe(1);
  });
  it('flags ties instead of breaking them, and flags inconsistent majorities', () => {
    const tie = resolveByMajority([label(0, 0, null), label(1, 1, { cats: ['Violence'], sev: 1 })]);
    expect(tie.label).toBeUndefined();
    expect(tie.ties).toEqual(['better', 'safer', 'safe1']);
    // Response 1 is the majority's safer response but labelled unsafe, while response 0 is safe.
    const odd = resolveByMajority([label(0, 1, { cats: ['Violence'], sev: 1 })]);
    expect(odd.inconsistent).toBe(true);
  });
  it("settles ties with a person's decision, never a majority, and keeps the categories of those who called the response unsafe", () => {
    const votes = [label(0, 0, null), label(1, 1, { cats: ['Violence'], sev: 2 })];
    // A partial decision leaves the rest tied.
    const partial = resolveByMajority(votes, { better: 1 });
    expect(partial.label).toBeUndefined();
    expect(partial.ties).toEqual(['safer', 'safe1']);
    expect(partial.decided).toEqual(['better']);
    const full = resolveByMajority(votes, { better: 1, safer: 0, safe1: false });
    expect(full.ties).toEqual([]);
    expect(full.label).toEqual({ better: 1, safer: 0, isSafe: [true, false], categories: [[], ['Violence']], severity: [0, 2] });
    const safe = resolveByMajority(votes, { better: 0, safer: 1, safe1: true });
    expect(safe.label).toEqual({ better: 0, safer: 1, isSafe: [true, true], categories: [[], []], severity: [0, 0] });
    // Where the vote has a winner, a decision is ignored.
    const clear = resolveByMajority([label(0, 0, null), label(0, 0, null), label(1, 0, null)], { better: 1, safer: 1 });
    expect(clear.label?.better).toBe(0);
    expect(clear.label?.safer).toBe(0);
    expect(clear.decided).toEqual([]);
  });
});

describe('gold schedule and audit sample', () => {
  /** A seeded uniform [0, 1) generator (mulberry32), so the statistics below are fixed numbers. */
  function uniform(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  /** Positions of gold among `n` assignments when gold is always available. */
  function schedule(n: number, share: number, draw: () => number): number[] {
    const positions: number[] = [];
    for (let total = 0; total < n; total++) if (goldIsDue(positions.length, total, share, draw())) positions.push(total);
    return positions;
  }

  it('puts the k-th gold item at a uniformly random position of the k-th block of 1/share assignments', () => {
    const draw = uniform(18);
    // share 0.25: exactly one gold item in each block of four, anywhere in it.
    const counts = [0, 0, 0, 0];
    const sequences = new Set<string>();
    for (let run = 0; run < 4000; run++) {
      const positions = schedule(40, 0.25, draw);
      expect(positions.map((p) => Math.floor(p / 4))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      for (const p of positions) counts[p % 4] = (counts[p % 4] as number) + 1;
      sequences.add(positions.join(','));
    }
    // 40,000 gold items over 4 offsets: 10,000 each expected, sd ~87; a fixed schedule would put all at one offset.
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(sequences.size).toBeGreaterThan(3990);
    // A share that is not 1/integer: blocks of 3 or 4 (0.3 -> [0,3], [4,6], [7,9], ...), 30 gold in 100 assignments.
    for (let run = 0; run < 200; run++) {
      const positions = schedule(100, 0.3, draw);
      expect(positions).toHaveLength(30);
      positions.forEach((p, k) => {
        expect(p).toBeGreaterThanOrEqual(Math.ceil(k / 0.3 - 1e-9));
        expect(p).toBeLessThanOrEqual(Math.ceil((k + 1) / 0.3 - 1e-9) - 1);
      });
    }
    expect(schedule(100, 0, draw)).toEqual([]);
    expect(schedule(5, 1, draw)).toEqual([0, 1, 2, 3, 4]);
  });

  it('samples round(share x n) pairs, at least one for a positive share', () => {
    expect(auditSampleSize(100, 0.1)).toBe(10);
    expect(auditSampleSize(3, 0.1)).toBe(1);
    expect(auditSampleSize(3, 0)).toBe(0);
    expect(auditSampleSize(0, 0.5)).toBe(0);
    expect(auditSampleSize(4, 1)).toBe(4);
  });
});

describe('parseImport', () => {
  it('reads PKU-SafeRLHF rows with their labels as gold answers', () => {
    const items = parseImport(pkuJsonl(QUALIFICATION_PAIRS.slice(0, 2)), 'gold');
    expect(items).toHaveLength(2);
    expect(items[1]?.gold).toEqual({ better: 0, safer: 1, isSafe: [false, true], categories: [['Privacy Violation', 'Cybercrime'], []], severity: [2, 0] });
    expect(items[0]?.responseSources).toEqual(['writer-a', 'writer-b']);
  });
  it('names every bad line and refuses the whole upload', () => {
    try {
      parseImport('{"prompt": "p", "response_0": "a", "response_1": "b"}\n\n[1]\n{"prompt": "p", "response_0": 3, "response_1": "b"}\n{"better_response_id": 0}\n', 'task');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ImportError);
      const problems = (e as ImportError).problems.join('\n');
      expect(problems).toMatch(/line 3: /);
      expect(problems).toMatch(/line 4: response_0/);
      expect(problems).toMatch(/line 5: prompt/);
      expect(problems).not.toMatch(/line 1:/);
    }
    expect(() => parseImport('\n\n', 'task')).toThrow(/no pairs/);
  });
});

describe('toPositional', () => {
  it('rewrites $n placeholders to ? in order, repeating parameters used twice', () => {
    expect(toPositional('SELECT $2, $1, $2', ['a', 'b'])).toEqual({ sql: 'SELECT ?, ?, ?', params: ['b', 'a', 'b'] });
    expect(() => toPositional('SELECT $3', ['a'])).toThrow(/placeholder \$3/);
  });
});

describe('passwordProblem', () => {
  it('takes 8 characters to 72 bytes, refuses common passwords and the username, case and width folded', () => {
    expect(passwordProblem('correct horse battery', 'alice')).toBeNull();
    expect(passwordProblem('short12', 'alice')).toMatch(/at least 8/);
    expect(passwordProblem('x'.repeat(72), 'alice')).toBeNull();
    expect(passwordProblem('x'.repeat(73), 'alice')).toMatch(/at most 72 bytes/);
    // 24 three-byte characters are 72 bytes; 25 are 75.
    expect(passwordProblem('€'.repeat(24), 'alice')).toBeNull();
    expect(passwordProblem('€'.repeat(25), 'alice')).toMatch(/75/);
    for (const common of ['password123', 'Password123', 'QWERTY123', 'ｐａｓｓｗｏｒｄ１２３', 'iloveyou']) {
      expect(passwordProblem(common, 'alice'), common).toMatch(/common/);
    }
    expect(passwordProblem('Alice-Smith', 'alice-smith')).toMatch(/username/);
    expect(passwordProblem('alice-smith-2', 'alice-smith')).toBeNull();
  });
});

describe('usernames', () => {
  it('normalises case and width (NFKC, lower case)', () => {
    expect(normaliseUsername('ADMIN')).toBe('admin');
    expect(normaliseUsername('ａｄｍｉｎ')).toBe('admin');
    expect(normaliseUsername(' Alice ')).toBe('alice');
    expect(normaliseUsername('ﬁona')).toBe('fiona');
  });

  it('refuses invisible, direction-changing and mixed-script names, and keeps single-script ones', () => {
    for (const hidden of ['ad\u200bmin', 'admin\u200d', '\u202eadmin', 'ad\u2066min', 'admin\u00ad', 'adm\ufe0fin', 'ad min', 'admin\u0000']) {
      expect(usernameProblem(normaliseUsername(hidden)), JSON.stringify(hidden)).toMatch(/invisible|letters and digits/);
    }
    expect(usernameProblem('\u0430dmin')).toMatch(/one script/); // Cyrillic а + Latin dmin
    expect(usernameProblem('p\u0430ypal')).toMatch(/Cyrillic, Latin|Latin, Cyrillic/);
    for (const ok of ['alice', "o'brien", 'j.smith@lab', 'ann-1', 'zoë', 'иван', 'ολγα', '山田', 'やまだ太郎', '김민준']) {
      expect(usernameProblem(normaliseUsername(ok)), ok).toBeNull();
    }
    expect(usernameProblem('-alice')).toMatch(/starting with/);
    expect(usernameProblem('x'.repeat(65))).toMatch(/at most 64/);
  });

  it('gives look-alikes one skeleton and different names different ones', () => {
    const admin = usernameSkeleton('admin');
    for (const twin of ['аdmin', 'аdмin', 'admín', 'adrnin', 'adm\u0131n', 'ādmin']) {
      expect(usernameSkeleton(normaliseUsername(twin)), twin).toBe(admin);
    }
    expect(usernameSkeleton('аре')).toBe(usernameSkeleton('ape')); // all Cyrillic, one script, still a twin
    expect(usernameSkeleton('bill')).toBe(usernameSkeleton('bi1l'));
    expect(usernameSkeleton('bob0')).toBe(usernameSkeleton('bobo'));
    expect(usernameSkeleton('j.smith')).toBe(usernameSkeleton('j_smith'));
    for (const [a, b] of [['admin', 'admins'], ['ann1', 'ann2'], ['alice', 'alicia'], ['ivan', 'иван']] as const) {
      expect(usernameSkeleton(a), `${a} / ${b}`).not.toBe(usernameSkeleton(b));
    }
  });
});
