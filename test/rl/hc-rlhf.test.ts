// HC-RLHF's inflation k, the Student-t safety test and the Lagrange multiplier on the inflated J_c, against reference/golden/hc_rlhf.json (scipy's t quantiles, PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hcInflation, LagrangeMultiplier, DEFAULT_LAGRANGE, safetyTest } from '../../src/rl/index.js';
import { expectAllClose } from '../helpers/allclose.js';

interface Golden {
  inflations: { delta: number; nBatch: number; nSafety: number; c1: number; c2: number; k: number }[];
  tests: { costs: number[]; tau: number; delta: number; mean: number; std: number; upperBound: number; passed: boolean }[];
  lagrange: { inflation: number; threshold: number; lr: number; window: number; batches: number[][]; trace: { jc: number; lambda: number }[] };
}
const g = JSON.parse(readFileSync('reference/golden/hc_rlhf.json', 'utf8')) as Golden;

describe('HC-RLHF', () => {
  it('inflation k = C1·t/√n_b + C2·t/√n_s matches scipy', () => {
    for (const c of g.inflations) expectAllClose(hcInflation(c), c.k, { atol: 1e-9, rtol: 1e-9 });
  });

  it('the safety test: mean, std, the Student-t upper bound and the verdict match', () => {
    expect(g.tests.map((c) => c.passed)).toEqual([true, false, false, true]);
    for (const c of g.tests) {
      const r = safetyTest(c.costs, { tau: c.tau, delta: c.delta });
      expectAllClose([r.mean, r.std, r.upperBound], [c.mean, c.std, c.upperBound], { atol: 1e-9, rtol: 1e-9 });
      expect(r.passed).toBe(c.passed);
      expect(r.n).toBe(c.costs.length);
    }
  });

  it('a smaller δ asks for more: the bound grows and a sample that passes at δ 0.2 can fail at 0.01', () => {
    const c = g.tests[3] as Golden['tests'][number];
    const at = (delta: number) => safetyTest(c.costs, { tau: c.tau, delta });
    expect(at(0.01).upperBound).toBeGreaterThan(at(0.2).upperBound);
    expect(at(0.2).passed).toBe(true);
    expect(at(0.01).passed).toBe(false);
  });

  it('rejects fewer than two costs and a δ outside (0, 1)', () => {
    expect(() => safetyTest([1], { tau: 0, delta: 0.1 })).toThrow(/at least 2 values/);
    expect(() => hcInflation({ delta: 1, nBatch: 10, nSafety: 10, c1: 1, c2: 1 })).toThrow(/δ must lie in/);
  });

  it('the candidate λ steps on J_c = mean + k·std of its window', () => {
    const l = g.lagrange;
    const m = new LagrangeMultiplier({ ...DEFAULT_LAGRANGE, threshold: l.threshold, lr: l.lr, window: l.window, inflation: l.inflation });
    const trace = l.batches.map((b) => m.update(b));
    expectAllClose(trace.map((t) => t.jc), l.trace.map((t) => t.jc), { atol: 1e-9, rtol: 1e-9 });
    expectAllClose(trace.map((t) => t.lambda), l.trace.map((t) => t.lambda), { atol: 1e-9, rtol: 1e-9 });
  });
});
