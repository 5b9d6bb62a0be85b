// Verbalized sampling: the parser on hand-written raw outputs in the shapes chat models produce (no chat model runs here to record from) (good lists parsed, malformed ones rejected with their problems), the seeded draw, the retry loop.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseVerbalized, pickVerbalized, verbalizedPrompt, verbalizedSample, type VerbalizedAnswer } from '../../src/models/verbalized.js';
import { Rng } from '../../src/world/rng.js';

interface Case {
  name: string;
  k: number;
  raw: string;
  answers?: string[];
  probabilities?: number[];
  problems?: string[];
}
const cases = readFileSync(new URL('./fixtures/verbalized-outputs.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Case);

describe('parseVerbalized on hand-written outputs', () => {
  for (const c of cases.filter((x) => x.answers)) {
    it(`parses: ${c.name}`, () => {
      const r = parseVerbalized(c.raw, c.k);
      if (!r.ok) expect.fail(r.problems.join('; '));
      expect(r.answers.map((a) => a.text)).toEqual(c.answers);
      r.answers.forEach((a, i) => expect(a.probability).toBeCloseTo(c.probabilities?.[i] as number, 12));
      const sum = (c.probabilities ?? []).reduce((s, p) => s + p, 0);
      expect(r.statedSum).toBeCloseTo(sum, 12);
      r.answers.forEach((a, i) => expect(a.weight).toBeCloseTo((c.probabilities?.[i] as number) / sum, 12));
    });
  }
  for (const c of cases.filter((x) => x.problems)) {
    it(`rejects and names the problem: ${c.name}`, () => {
      const r = parseVerbalized(c.raw, c.k);
      if (r.ok) expect.fail(`accepted: ${JSON.stringify(r.answers)}`);
      for (const p of c.problems ?? []) expect(r.problems.some((q) => q.includes(p)), `${p} in ${JSON.stringify(r.problems)}`).toBe(true);
    });
  }
  it('the fixture has good and malformed outputs', () => {
    expect(cases.filter((c) => c.answers).length).toBeGreaterThanOrEqual(5);
    expect(cases.filter((c) => c.problems).length).toBeGreaterThanOrEqual(8);
  });
});

describe('drawing from the list', () => {
  const answers: VerbalizedAnswer[] = [0.6, 0.3, 0.1, 0].map((w, i) => ({ text: `a${i}`, probability: w, weight: w }));
  it('draws each answer about as often as its weight, never a weight-0 one, the same draw for the same seed', () => {
    const counts = [0, 0, 0, 0];
    const rng = new Rng(3);
    for (let i = 0; i < 20000; i++) counts[pickVerbalized(answers, rng)]! += 1;
    expect(counts[0]! / 20000).toBeCloseTo(0.6, 1);
    expect(counts[1]! / 20000).toBeCloseTo(0.3, 1);
    expect(counts[2]! / 20000).toBeCloseTo(0.1, 1);
    expect(counts[3]).toBe(0);
    const draw = (seed: number) => Array.from({ length: 20 }, ((r) => () => pickVerbalized(answers, r))(new Rng(seed)));
    expect(draw(7)).toEqual(draw(7));
  });

  it('retries a malformed list, keeps its problems, then draws from the first good one; gives up after the attempts', async () => {
    const outputs = ['1. Cut off mid', '1. Yes. (probability: 0.25)\n2. No. (probability: 75%)'];
    const r = await verbalizedSample((attempt) => outputs[attempt] as string, 2, 3, new Rng(1));
    if (!r.ok) expect.fail('rejected');
    expect(r.attempts).toBe(2);
    expect(r.rejected).toHaveLength(1);
    expect(['Yes.', 'No.']).toContain(r.answer);
    expect(r.answers.map((a) => a.weight)).toEqual([0.25, 0.75]);
    const bad = await verbalizedSample(() => 'no list', 2, 3, new Rng(1));
    expect(bad).toMatchObject({ ok: false, attempts: 3, raw: 'no list' });
    if (!bad.ok) expect(bad.rejected).toHaveLength(3);
  });

  it('the prompt asks for k lines in the format the parser reads', () => {
    const p = verbalizedPrompt('how do i bake bread ?', 4);
    expect(p.startsWith('how do i bake bread ?\n\n')).toBe(true);
    expect(p).toContain('Write exactly 4 lines');
    const example = p.slice(p.lastIndexOf('\n') + 1).replace('<response>', 'an answer').replace('<a number between 0 and 1>', '1');
    expect(parseVerbalized(example, 1)).toMatchObject({ ok: true, answers: [{ text: 'an answer', probability: 1 }] });
  });
});
