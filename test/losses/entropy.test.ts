// The entropy bonus: per-token entropy of the full distribution and −coef·mean_mask(H) in every aggregation, value and gradient against reference/golden/entropy.json (PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { entropyBonus, tokenEntropy, type LossAggregation } from '../../src/losses/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

const g = JSON.parse(readFileSync('reference/golden/entropy.json', 'utf8')) as {
  coef: number;
  maxLength: number;
  logits: number[][][];
  mask: number[][];
  entropy: number[][];
  tokenMean: number;
  cases: Record<LossAggregation, { loss: number; grad: number[][][] }>;
};
// float32 against float64 goldens.
const TOL = { atol: 2e-5, rtol: 2e-5 };

describe('entropy bonus', () => {
  it('per-token entropy matches PyTorch, near 0 at a nearly deterministic position and at most log V', () => {
    const h = tokenEntropy(tensor(g.logits));
    expectAllClose(h, g.entropy, TOL);
    const values = h.toNumbers();
    expect(values[1]).toBeLessThan(0.05);
    expect(Math.max(...values)).toBeLessThanOrEqual(Math.log(6) + 1e-6);
  });
  for (const aggregation of ['token', 'per-sequence', 'max-length'] as const) {
    it(`${aggregation}: −coef·mean H and its gradient match PyTorch; the metric is the token mean of H`, () => {
      const logits = tensor(g.logits, { requiresGrad: true });
      const out = entropyBonus(tokenEntropy(logits), tensor(g.mask), g.coef, aggregation, g.maxLength);
      const c = g.cases[aggregation];
      expectAllClose(out.loss.item(), c.loss, TOL);
      expect(out.loss.item()).toBeLessThan(0);
      out.loss.backward();
      expectAllClose(logits.grad as NonNullable<typeof logits.grad>, c.grad, TOL);
      expect(out.metrics.entropy).toBeCloseTo(g.tokenMean, 5);
    });
  }
});
