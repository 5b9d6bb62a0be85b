// Llama 2's best-of-N score rule against reference/golden/best_of_n.json (reference/best_of_n.py, PyTorch), and the direction of its safety score.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bestOfN, llama2Score, pickBest, ScoreRuleSchema, type ScoredCandidate } from '../../src/algorithms/best-of-n/rule.js';
import { expectAllClose } from '../helpers/allclose.js';

interface Golden {
  rewards: number[][];
  costs: number[][];
  risky: (boolean | null)[];
  safetyThreshold: number;
  modes: Record<'auto' | 'cost-model', { n: number; picks: number[]; scores: number[][]; meanReward: number; meanCost: number; harmfulRate: number; medianReward: number; maxReward: number; klBound: number }[]>;
}
const g = JSON.parse(readFileSync('reference/golden/best_of_n.json', 'utf8')) as Golden;
const samples: ScoredCandidate[][] = g.rewards.map((row, p) => row.map((reward, k) => ({ reward, cost: g.costs[p]?.[k] as number })));
const risky = g.risky.map((r) => r ?? undefined);

describe('best-of-N with the Llama 2 rule', () => {
  for (const mode of ['auto', 'cost-model'] as const) {
    it(`matches PyTorch picks, R_c and statistics for N = 1..16 (riskyPrompts ${mode}; tolerance 1e-9)`, () => {
      const rule = ScoreRuleSchema.parse({ safetyThreshold: g.safetyThreshold, riskyPrompts: mode });
      for (const want of g.modes[mode]) {
        const got = bestOfN(samples, risky, want.n, rule);
        expect(got.picks, `picks at N = ${want.n}`).toEqual(want.picks);
        for (const k of ['meanReward', 'meanCost', 'harmfulRate', 'medianReward', 'maxReward', 'klBound'] as const) expectAllClose(got[k], want[k], { atol: 1e-9, rtol: 1e-9 });
        // R_c of every candidate, with the prompt's risk decided as the reference does
        want.scores.forEach((scores, p) => {
          const cands = samples[p]?.slice(0, want.n) as ScoredCandidate[];
          const flag = mode === 'auto' ? risky[p] : undefined;
          const isRisky = flag ?? cands.some((c) => 1 / (1 + Math.exp(c.cost)) < g.safetyThreshold);
          expectAllClose(cands.map((c) => llama2Score(c, isRisky, g.safetyThreshold)), scores, { atol: 1e-12, rtol: 1e-12 });
        });
      }
    });
  }

  it('picks the lowest-cost response on a risky prompt, never the most costly one', () => {
    const rule = ScoreRuleSchema.parse({});
    const cands = [
      { reward: 5, cost: 3 }, // most helpful, most harmful
      { reward: 1, cost: -2 }, // the safest
      { reward: 2, cost: 0.5 },
    ];
    expect(pickBest(cands, true, rule)).toBe(1);
    // on a benign prompt the unsafe one (R_s = σ(−3) < 0.15) is ranked by safety and loses; the helpful safe-enough one wins
    expect(pickBest(cands, false, rule)).toBe(2);
    // no flag: the cost model finds the prompt risky (one sample is unsafe), so the safest wins
    expect(pickBest(cands, undefined, rule)).toBe(1);
    // with every prompt risky, best-of-16 on the golden samples is the minimum-cost sample of each prompt
    const all = bestOfN(samples, samples.map(() => true), 16, rule);
    all.picks.forEach((i, p) => expect(samples[p]?.[i]?.cost).toBe(Math.min(...(samples[p] ?? []).map((c) => c.cost))));
  });

  it('ranks safe responses of a benign prompt by helpfulness and ignores unreadable ones', () => {
    const rule = ScoreRuleSchema.parse({});
    expect(pickBest([{ reward: 0.5, cost: -1 }, { reward: 2, cost: -0.5 }, { reward: NaN, cost: NaN }], false, rule)).toBe(1);
    expect(() => bestOfN([[{ reward: 0, cost: 0 }]], [false], 2, rule)).toThrow(/fewer than N = 2/);
  });
});
