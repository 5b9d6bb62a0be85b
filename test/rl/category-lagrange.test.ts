// Per-category constraints: one λ per harm category stepped on its own episodes, and the per-row combination (A_r − λ_k·A_c)/(1 + λ_k), against reference/golden/category_lagrange.json (PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CategoryLagrange, combineAdvantages, DEFAULT_LAGRANGE, LagrangeMultiplier } from '../../src/rl/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

const g = JSON.parse(readFileSync('reference/golden/category_lagrange.json', 'utf8')) as {
  lr: number;
  window: number;
  thresholds: Record<string, number>;
  steps: { costs: number[]; categories: string[] }[];
  trace: Record<string, { lambda: number; jc: number | null }>[];
  combine: { rewardAdvantages: number[][]; costAdvantages: number[][]; lambdas: number[]; combined: number[][] };
};
const config = { ...DEFAULT_LAGRANGE, lr: g.lr, window: g.window, threshold: 99 };

describe('per-category Lagrange multipliers', () => {
  it('each category steps on its own episodes against its own d; a category absent from a step keeps its λ (PyTorch)', () => {
    const m = new CategoryLagrange(config, g.thresholds);
    g.steps.forEach((s, i) => {
      const out = m.update(s.costs, s.categories);
      for (const [k, want] of Object.entries(g.trace[i] as Record<string, { lambda: number; jc: number | null }>)) {
        expect(out.perCategory[k]?.lambda ?? m.lambda(k), `step ${i} ${k}`).toBeCloseTo(want.lambda, 12);
        if (want.jc !== null) expect(out.perCategory[k]?.jc).toBeCloseTo(want.jc, 12);
      }
      expect(out.rowLambdas).toEqual(s.categories.map((k) => m.lambda(k)));
    });
    // the two categories end apart: privacy's costs sit below its own d most of the time, violence's above
    const last = g.trace.at(-1) as Record<string, { lambda: number }>;
    expect(Math.abs((last.violence?.lambda as number) - (last.privacy?.lambda as number))).toBeGreaterThan(0.05);
  });
  it('with one category it is the global multiplier; state survives a resume', () => {
    const one = new CategoryLagrange(config);
    const global = new LagrangeMultiplier(config);
    const resumed = new CategoryLagrange(config);
    g.steps.forEach((s, i) => {
      const a = one.update(s.costs, s.costs.map(() => ''));
      expect(a.perCategory['']?.lambda).toBe(global.update(s.costs).lambda);
      if (i === 1) resumed.loadStateDict(JSON.parse(JSON.stringify(one.stateDict())));
      if (i >= 2) expect(resumed.update(s.costs, s.costs.map(() => '')).rowLambdas).toEqual(a.rowLambdas);
    });
  });
  it('combines each row with its own λ: (A_r − λ_i·A_c)/(1 + λ_i) (PyTorch); a single λ gives the global combination', () => {
    const c = g.combine;
    const ar = tensor(c.rewardAdvantages);
    const ac = tensor(c.costAdvantages);
    expectAllClose(combineAdvantages(ar, ac, c.lambdas), c.combined, { atol: 1e-6, rtol: 1e-5 });
    expectAllClose(combineAdvantages(ar, ac, c.lambdas.map(() => 0.7)), combineAdvantages(ar, ac, 0.7).toNumbers(), { atol: 1e-7, rtol: 1e-6 });
    expect(() => combineAdvantages(ar, ac, [1, 2])).toThrow(/one λ per row/);
  });
});
