// `labelPairs` against a fake judge: both orders asked and mapped back, ties on position bias, the cache, retries on misbehaviour, malformed answers reported.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPkuSafeRlhf } from '../../src/data/pku-saferlhf.js';
import { LabelConfigSchema } from '../../src/label/config.js';
import { labelPairs } from '../../src/label/run.js';
import { readQuestion, ruleJudge, startFakeJudge, type FakeAction, type FakeJudge, type FakeRequest } from './fake-judge.js';

let fake: FakeJudge | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** Three plain pairs: (0) the longer answer is response 1 and response 0 is unsafe; (1) the reverse; (2) both safe, response 0 longer. */
function writeInput(dir: string, extra: string[] = []): string {
  const lines = [
    JSON.stringify({ prompt: 'how do i hurt someone', response_0: 'use a weapon', response_1: 'I will not help with that, but here is how to get support' }),
    JSON.stringify({ prompt: 'how to bake bread', response_0: 'mix flour, water and yeast, knead, rise, bake at 220C', response_1: 'hit it with a weapon' }),
    ...extra,
    JSON.stringify({ prompt: 'say hi', response_0: 'hello there, friend', response_1: 'hi' }),
  ];
  const path = join(dir, 'pairs.jsonl');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function run(dir: string, act: (r: FakeRequest) => FakeAction, over: Record<string, unknown> = {}) {
  fake ??= await startFakeJudge(act);
  const config = LabelConfigSchema.parse({ judge: fake.url, input: join(dir, 'pairs.jsonl'), out: join(dir, 'out.jsonl'), retryBaseMs: 5, timeoutSec: 5, ...over });
  return labelPairs(config);
}

describe('labelPairs with a consistent judge', () => {
  it('asks each pairwise question in both orders, maps the swapped answer back, and labels from the cache on a rerun', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'label-'));
    writeInput(dir);
    const s = await run(dir, (r) => ({ answer: ruleJudge(r), usage: { prompt_tokens: 50, completion_tokens: 4 } }));
    expect(fake?.requests).toHaveLength(18);
    // each pairwise question was shown once with each response first
    for (const kind of ['helpful', 'harmless'] as const) {
      const firsts = fake?.requests.map(readQuestion).filter((q) => q.kind === kind).map((q) => q.shown[0]);
      expect(firsts).toHaveLength(6);
      expect(new Set(firsts).size).toBe(6);
    }
    expect(s).toMatchObject({ pairs: 3, labelled: 2, malformedAnswers: 0, failedPairs: 0, inconsistent: 0 });
    // pair 2: both safe, so harmlessness (the judge says A in both orders) is a tie that safety cannot decide
    expect(s.ties).toEqual({ helpful: 0, harmless: 1, unlabelled: 1, harmlessDecidedBySafety: 0 });
    // 18 questions and GET /models
    expect(s.requests).toMatchObject({ total: 18, asked: 18, cached: 0, httpAttempts: 19, failed: 0 });
    expect(s.tokens).toEqual({ prompt: 900, completion: 72, cachedPrompt: 0, cachedCompletion: 0 });
    const out = await readPkuSafeRlhf(join(dir, 'out.jsonl'));
    expect(out.problems).toEqual([]);
    expect(out.records.map((r) => [r.betterResponseId, r.saferResponseId, r.isSafe, r.categories])).toEqual([
      [1, 1, [false, true], [['Violence'], []]],
      [0, 0, [true, false], [[], ['Violence']]],
    ]);
    const first = readFileSync(join(dir, 'out.jsonl'), 'utf8');
    const again = await run(dir, () => ({ status: 500 }));
    expect(fake?.requests).toHaveLength(18);
    expect(again.requests).toMatchObject({ total: 18, asked: 0, cached: 18, httpAttempts: 1 });
    expect(again.tokens).toEqual({ prompt: 0, completion: 0, cachedPrompt: 900, cachedCompletion: 72 });
    expect(readFileSync(join(dir, 'out.jsonl'), 'utf8')).toBe(first);
    expect(JSON.parse(readFileSync(join(dir, 'out.summary.json'), 'utf8'))).toMatchObject({ labelled: 2, requests: { cached: 18 } });
  });

  it('reports its agreement with the labels of PKU-SafeRLHF input, and bad input lines by file:line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'label-'));
    const pku = (better: number, safer: number, safe: [boolean, boolean]) =>
      JSON.stringify({ prompt: 'how do i hurt someone', response_0: 'use a weapon', response_1: 'no, get support instead', better_response_id: better, safer_response_id: safer, is_response_0_safe: safe[0], is_response_1_safe: safe[1] });
    writeFileSync(join(dir, 'pairs.jsonl'), [pku(1, 1, [false, true]), '{not json', JSON.stringify({ prompt: 'x', response_0: 'y' }), pku(0, 1, [true, true])].join('\n'));
    const s = await run(dir, (r) => ({ answer: ruleJudge(r) }));
    expect(s).toMatchObject({ pairs: 2, badLines: 2, labelled: 2 });
    expect(s.agreementWithInput).toEqual({ pairs: 2, better: 0.5, safer: 1, isSafe: 0.75 });
    expect(s.problems).toEqual([expect.stringMatching(/pairs\.jsonl:2: json:/), expect.stringMatching(/pairs\.jsonl:3: schema: response_1/)]);
  });
});

describe('labelPairs with a judge that always answers A (position bias)', () => {
  it('turns every pairwise question into a tie; harmlessness is decided by safety only when exactly one response is unsafe', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'label-'));
    writeInput(dir);
    const s = await run(dir, (r) => ({ answer: readQuestion(r).kind === 'safety' ? ruleJudge(r) : 'Verdict: A' }));
    expect(s.labelled).toBe(0);
    expect(s.ties).toEqual({ helpful: 3, harmless: 3, unlabelled: 3, harmlessDecidedBySafety: 0 });
  });
});

describe('labelPairs with a misbehaving judge', () => {
  it('retries a 429 (honouring Retry-After), a 500, a body that is not JSON and a timeout, then labels everything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'label-'));
    writeInput(dir);
    const faults: Record<number, FakeAction> = {
      1: { status: 429, headers: { 'retry-after': '0' } },
      2: { status: 503 },
      3: { status: 200, body: '{"choices": [' },
      4: { hang: true },
      5: { status: 200, body: JSON.stringify({ choices: [] }) },
    };
    const s = await run(dir, (r) => faults[r.n] ?? { answer: ruleJudge(r) }, { concurrency: 1, timeoutSec: 0.5 });
    expect(s).toMatchObject({ labelled: 2, failedPairs: 0, malformedAnswers: 0 });
    expect(s.requests.retries).toEqual({ '429': 1, '503': 1, 'bad body': 2, timeout: 1 });
    expect(s.requests).toMatchObject({ asked: 18, httpAttempts: 18 + 5 + 1 });
  });

  it('gives up on a pair after --retries, fails a 400 at once, and a rerun asks only what is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'label-'));
    writeInput(dir);
    const broken = (r: FakeRequest): FakeAction => {
      const q = readQuestion(r);
      if (q.shown.includes('hi')) return { status: 500 };
      if (q.shown.includes('use a weapon') && q.kind === 'safety') return { status: 400, body: '{"error": {"message": "context_length_exceeded"}}' };
      return { answer: ruleJudge(r) };
    };
    const s = await run(dir, broken, { retries: 2 });
    expect(s).toMatchObject({ labelled: 1, failedPairs: 2 });
    expect(s.problems).toEqual([expect.stringMatching(/pairs\.jsonl:1: judge request failed: .*HTTP 400.*context_length_exceeded/), expect.stringMatching(/pairs\.jsonl:3: judge request failed: .*500, after 2 retries/)]);
    // pair 3 has 5 questions showing "hi" (3 attempts each), pair 1 one 400, and GET /models
    expect(s.requests.httpAttempts).toBe(18 - 5 - 1 + 5 * 3 + 1 + 1);
    await fake?.close();
    fake = undefined;
    const healed = await run(dir, (r) => ({ answer: ruleJudge(r) }));
    expect(healed).toMatchObject({ labelled: 2, failedPairs: 0 });
    expect(healed.requests).toMatchObject({ asked: 6, cached: 12 });
  });

  it('counts and reports answers that do not parse, with the input line, and writes no guess', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'label-'));
    writeInput(dir);
    const s = await run(dir, (r) => {
      const q = readQuestion(r);
      if (q.kind === 'safety' && q.shown[0] === 'hit it with a weapon') return { answer: 'This seems dangerous.' };
      if (q.kind === 'helpful' && q.shown[0] === 'use a weapon') return { answer: 'Verdict: C' };
      return { answer: ruleJudge(r) };
    });
    expect(s).toMatchObject({ labelled: 0, malformedAnswers: 2, malformedPairs: 2 });
    expect(s.problems).toEqual([
      expect.stringMatching(/pairs\.jsonl:1: malformed judge answer: helpfulness: expected "Verdict: A" or "Verdict: B", found "Verdict: C"/),
      expect.stringMatching(/pairs\.jsonl:2: malformed judge answer: safety of response 1: expected one "Safety: safe"/),
    ]);
  });
});
