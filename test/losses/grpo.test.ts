// GRPO's token loss (every aggregation, with and without k3), k3, group / batch / no scaling, normalise-then-sum, leave-one-out and the safe combination against reference/golden/grpo.json (PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clippedPolicyLoss, k3Kl, ppoPolicyLoss, type LossAggregation } from '../../src/losses/index.js';
import { combineAdvantages, groupAdvantages, leaveOneOutAdvantages, normaliseThenSum, type GroupScale } from '../../src/rl/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

interface LossCase {
  aggregation: LossAggregation;
  beta: number;
  loss: number;
  grad: number[][];
  clipFraction: number;
  k3: number;
}
const g = JSON.parse(readFileSync('reference/golden/grpo.json', 'utf8')) as {
  loss: { logProbs: number[][]; oldLogProbs: number[][]; refLogProbs: number[][]; advantages: number[][]; mask: number[][]; clipLow: number; clipHigh: number; maxLength: number; cases: Record<string, LossCase> };
  k3: { value: number[][]; grad: number[][] };
  group: { groupSize: number; reward: number[]; cost: number[] } & Record<GroupScale, number[]>;
  leaveOneOut: number[];
  normaliseThenSum: { weights: number[]; advantages: number[] };
  sumThenNormalise: number[];
  safe: { lambda: number; advantages: number[] };
};
// float32 against float64 goldens.
const TOL = { atol: 2e-5, rtol: 2e-5 };
const L = g.loss;

describe('GRPO token loss', () => {
  const cases = Object.entries(L.cases);
  it('covers every aggregation with and without the KL term, and clips some tokens on each side', () => {
    expect(new Set(cases.map(([, c]) => c.aggregation))).toEqual(new Set(['token', 'per-sequence', 'max-length']));
    expect(cases.filter(([, c]) => c.beta > 0)).toHaveLength(3);
    expect((cases[0] as [string, LossCase])[1].clipFraction).toBeGreaterThan(0.1);
  });
  for (const [name, c] of cases) {
    it(`${name}: value, gradient, clip fraction and k3 match PyTorch`, () => {
      const logp = tensor(L.logProbs, { requiresGrad: true });
      const out = clippedPolicyLoss(logp, tensor(L.oldLogProbs), tensor(L.advantages), tensor(L.mask), {
        clipLow: L.clipLow,
        clipHigh: L.clipHigh,
        aggregation: c.aggregation,
        maxLength: L.maxLength,
        ...(c.beta > 0 ? { kl: { refLogProbs: tensor(L.refLogProbs), coef: c.beta } } : {}),
      });
      expectAllClose(out.loss.item(), c.loss, TOL);
      out.loss.backward();
      expectAllClose(logp.grad as NonNullable<typeof logp.grad>, c.grad, TOL);
      expect(out.metrics.clipFraction).toBeCloseTo(c.clipFraction, 6);
      if (c.beta > 0) expectAllClose(out.metrics.k3 as number, c.k3, TOL);
    });
  }
  it('the three aggregations give three different losses; β > 0 raises each (k3 >= 0)', () => {
    const byAgg = (beta: number) => cases.filter(([, c]) => c.beta === beta).map(([, c]) => c.loss);
    expect(new Set(byAgg(0)).size).toBe(3);
    byAgg(0).forEach((l, i) => expect(byAgg(0.04)[i] as number).toBeGreaterThan(l));
  });
  it('is PPO\'s loss when ε_low = ε_high and there is no KL term', () => {
    const args = [tensor(L.logProbs), tensor(L.oldLogProbs), tensor(L.advantages), tensor(L.mask)] as const;
    const a = clippedPolicyLoss(...args, { clipLow: 0.2, clipHigh: 0.2, aggregation: 'per-sequence' });
    const b = ppoPolicyLoss(...args, 0.2, 'per-sequence');
    expect(a.loss.item()).toBe(b.loss.item());
    expect(a.metrics.clipFraction).toBe(b.metrics.clipFraction);
  });
});

describe('k3 estimator', () => {
  it('value and gradient match PyTorch', () => {
    const logp = tensor(L.logProbs, { requiresGrad: true });
    const k3 = k3Kl(logp, tensor(L.refLogProbs));
    expectAllClose(k3, g.k3.value, TOL);
    k3.sum().backward();
    expectAllClose(logp.grad as NonNullable<typeof logp.grad>, g.k3.grad, TOL);
    expect(Math.min(...k3.toNumbers())).toBeGreaterThanOrEqual(0);
  });
});

describe('group advantages', () => {
  const G = g.group.groupSize;
  for (const scale of ['group', 'batch', 'none'] as const) {
    it(`scale '${scale}' matches PyTorch`, () => {
      expectAllClose(groupAdvantages(tensor(g.group.reward), G, scale), g.group[scale], TOL);
    });
  }
  it('leave-one-out matches PyTorch and sums to zero in each group', () => {
    const a = leaveOneOutAdvantages(tensor(g.group.reward), G);
    expectAllClose(a, g.leaveOneOut, TOL);
    expect(Math.abs(a.view([-1, G]).sum(1).abs().max().item())).toBeLessThan(1e-5);
  });
  it('normalise-then-sum matches PyTorch and differs from sum-then-normalise', () => {
    const a = normaliseThenSum([tensor(g.group.reward), tensor(g.group.cost)], g.normaliseThenSum.weights, G);
    expectAllClose(a, g.normaliseThenSum.advantages, TOL);
    const [wr, wc] = g.normaliseThenSum.weights as [number, number];
    const sum = groupAdvantages(tensor(g.group.reward).mul(wr).add(tensor(g.group.cost).mul(wc)), G, 'group');
    expectAllClose(sum, g.sumThenNormalise, TOL);
    expect(Math.max(...a.sub(sum).abs().toNumbers())).toBeGreaterThan(0.05);
  });
  it('safe combination (A_r − λ·A_c)/(1 + λ) of the reward and cost group advantages matches PyTorch', () => {
    const a = combineAdvantages(groupAdvantages(tensor(g.group.reward), G), groupAdvantages(tensor(g.group.cost), G), g.safe.lambda);
    expectAllClose(a, g.safe.advantages, TOL);
  });
  it('rejects groups that do not divide the batch, and groups of one', () => {
    expect(() => groupAdvantages(tensor([1, 2, 3, 4, 5]), 2)).toThrow(/groups of 2/);
    expect(() => leaveOneOutAdvantages(tensor([1, 2]), 1)).toThrow(/>= 2/);
  });
});
