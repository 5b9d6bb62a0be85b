// P3O's pairwise losses (separate and joint clipping) against reference/golden/p3o.json (PyTorch): value, gradient, clip fraction, shift invariance.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pairwisePolicyLoss, type PairwiseClip } from '../../src/losses/index.js';
import { leaveOneOutAdvantages } from '../../src/rl/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

const g = JSON.parse(readFileSync('reference/golden/p3o.json', 'utf8')) as {
  logProbs: number[][];
  oldLogProbs: number[][];
  mask: number[][];
  reward: number[];
  advantages: number[];
  clip: number;
  cases: Record<PairwiseClip, { loss: number; grad: number[][]; clipFraction: number }>;
  onPolicyGrad: number[][];
};
// float32 against float64 goldens.
const TOL = { atol: 2e-5, rtol: 2e-5 };

describe('P3O pairwise policy loss', () => {
  it('the golden advantages are the leave-one-out advantages of pairs (±(r_1 − r_2))', () => {
    expectAllClose(leaveOneOutAdvantages(tensor(g.reward), 2), g.advantages, TOL);
  });
  for (const variant of ['separate', 'joint'] as const) {
    const c = g.cases[variant];
    it(`${variant}: value, gradient and clip fraction match PyTorch (some ratios clipped)`, () => {
      expect(c.clipFraction).toBeGreaterThan(0);
      expect(c.clipFraction).toBeLessThan(1);
      const logp = tensor(g.logProbs, { requiresGrad: true });
      const out = pairwisePolicyLoss(logp, tensor(g.oldLogProbs), tensor(g.advantages), tensor(g.mask), g.clip, variant);
      expectAllClose(out.loss.item(), c.loss, TOL);
      out.loss.backward();
      expectAllClose(logp.grad as NonNullable<typeof logp.grad>, c.grad, TOL);
      expect(out.metrics.clipFraction).toBeCloseTo(c.clipFraction, 6);
    });
    it(`${variant}: on-policy, the gradient is the pairwise policy gradient −½·Δ·∇(s_1 − s_2)`, () => {
      const logp = tensor(g.logProbs, { requiresGrad: true });
      pairwisePolicyLoss(logp, tensor(g.logProbs), tensor(g.advantages), tensor(g.mask), g.clip, variant).loss.backward();
      expectAllClose(logp.grad as NonNullable<typeof logp.grad>, g.onPolicyGrad, TOL);
    });
    it(`${variant}: shifting every reward by a constant leaves the loss and gradient unchanged`, () => {
      const run = (shift: number) => {
        const logp = tensor(g.logProbs, { requiresGrad: true });
        const adv = leaveOneOutAdvantages(tensor(g.reward.map((r) => r + shift)), 2);
        const out = pairwisePolicyLoss(logp, tensor(g.oldLogProbs), adv, tensor(g.mask), g.clip, variant);
        out.loss.backward();
        return { loss: out.loss.item(), grad: (logp.grad as NonNullable<typeof logp.grad>).toNumbers() };
      };
      const a = run(0);
      const b = run(7.5);
      expectAllClose(b.loss, a.loss, TOL);
      expectAllClose(b.grad, a.grad, TOL);
    });
  }
  it('rejects an odd number of rows', () => {
    const x = tensor([[0.1], [0.2], [0.3]]);
    expect(() => pairwisePolicyLoss(x, x, tensor([1, 2, 3]), tensor([[1], [1], [1]]), 0.2, 'joint')).toThrow(/pairs/);
  });
});
