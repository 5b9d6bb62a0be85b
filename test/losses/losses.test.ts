// Losses against reference/golden/losses_rl.json (written by reference/losses_rl.py with PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { costModelLoss, criticLoss, preferenceLoss, ppoPolicyLoss, rewardModelLoss, tokenCrossEntropy } from '../../src/losses/index.js';
import { AdamW, tensor, type Tensor } from '../../src/torch/index.js';

type Nested = number | boolean | Nested[];
const g = JSON.parse(readFileSync('reference/golden/losses_rl.json', 'utf8')) as Record<string, Record<string, Nested>>;
const TOL = 1e-5;

function leaf(x: Nested): Tensor {
  return tensor(x as number[], { requiresGrad: true });
}
function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [Number(x)];
}
function expectClose(actual: Tensor | number | null, expected: Nested, tol = TOL) {
  if (actual === null) throw new Error('missing value (no gradient?)');
  const a = typeof actual === 'number' ? [actual] : [...actual.toFloat64Array()];
  const e = flat(expected);
  expect(a.length).toBe(e.length);
  a.forEach((v, i) => expect(Math.abs(v - (e[i] as number))).toBeLessThanOrEqual(tol * (1 + Math.abs(e[i] as number))));
}

describe('reward model loss', () => {
  it('matches PyTorch value, accuracy and gradients', () => {
    const c = g.reward as Record<string, Nested>;
    const [w, l] = [leaf(c.chosen as Nested), leaf(c.rejected as Nested)];
    const out = rewardModelLoss(w, l, c.reg as number);
    expectClose(out.loss.item(), c.loss as number);
    expect(out.metrics.accuracy).toBeCloseTo(c.accuracy as number, 10);
    out.loss.backward();
    const [gw, gl] = c.grads as Nested[];
    expectClose(w.grad, gw as Nested);
    expectClose(l.grad, gl as Nested);
  });
});

describe('cost model loss', () => {
  it('matches PyTorch value, metrics and gradients', () => {
    const c = g.cost as Record<string, Nested>;
    const [s, u] = [leaf(c.safer as Nested), leaf(c.unsafer as Nested)];
    const out = costModelLoss(
      s,
      u,
      tensor(c.saferIsSafe as number[], { dtype: 'bool' }),
      tensor(c.unsaferIsSafe as number[], { dtype: 'bool' }),
      c.reg as number,
    );
    expectClose(out.loss.item(), c.loss as number);
    expect(out.metrics.accuracy).toBeCloseTo(c.accuracy as number, 10);
    expect(out.metrics.signAccuracy).toBeCloseTo(c.signAccuracy as number, 10);
    out.loss.backward();
    const [gs, gu] = c.grads as Nested[];
    expectClose(s.grad, gs as Nested);
    expectClose(u.grad, gu as Nested);
  });

  it('trains safe costs below zero and unsafe costs above', () => {
    // Free scores for 3 safe and 3 unsafe responses, optimised on the loss alone.
    const safer = tensor([0.5, 0.2, 1.0], { requiresGrad: true });
    const unsafer = tensor([-0.4, 0.1, -1.0], { requiresGrad: true });
    const isSafe = tensor([1, 1, 1], { dtype: 'bool' });
    const isUnsafe = tensor([0, 0, 0], { dtype: 'bool' });
    const opt = new AdamW([safer, unsafer], { lr: 0.1, weightDecay: 0 });
    for (let i = 0; i < 100; i++) {
      opt.zeroGrad();
      costModelLoss(safer, unsafer, isSafe, isUnsafe).loss.backward();
      opt.step();
    }
    expect(Math.max(...safer.toNumbers())).toBeLessThan(0);
    expect(Math.min(...unsafer.toNumbers())).toBeGreaterThan(0);
  });
});

describe('DPO loss', () => {
  it('matches PyTorch value and policy gradients', () => {
    const c = g.dpo as Record<string, Nested>;
    const [pc, pr] = [leaf(c.policyChosen as Nested), leaf(c.policyRejected as Nested)];
    const ones = tensor([1, 1, 1, 1]);
    const lp = { policyChosen: pc, policyRejected: pr, refChosen: tensor(c.refChosen as number[]), refRejected: tensor(c.refRejected as number[]), chosenLengths: ones, rejectedLengths: ones };
    const out = preferenceLoss(lp, { variant: 'sigmoid', beta: c.beta as number, labelSmoothing: 0 });
    expectClose(out.loss.item(), c.loss as number);
    expect(out.metrics.accuracy).toBeCloseTo(c.rewardAccuracy as number, 10);
    out.loss.backward();
    const [gc, gr] = c.grads as Nested[];
    expectClose(pc.grad, gc as Nested);
    expectClose(pr.grad, gr as Nested);
  });
});

describe('PPO policy loss', () => {
  it('matches PyTorch value, clip fraction, approx KL and gradient', () => {
    const c = g.ppo as Record<string, Nested>;
    const logp = leaf(c.logProbs as Nested);
    const out = ppoPolicyLoss(logp, tensor(c.oldLogProbs as number[][]), tensor(c.advantages as number[][]), tensor(c.mask as number[][]), c.clip as number);
    expectClose(out.loss.item(), c.loss as number);
    expect(out.metrics.clipFraction).toBeCloseTo(c.clipFraction as number, 6);
    expectClose(out.metrics.approxKl as number, c.approxKl as number);
    out.loss.backward();
    expectClose(logp.grad, (c.grads as Nested[])[0] as Nested);
  });
});

describe('critic loss', () => {
  it('matches PyTorch value and gradient', () => {
    const c = g.critic as Record<string, Nested>;
    const v = leaf(c.values as Nested);
    const out = criticLoss(v, tensor(c.oldValues as number[][]), tensor(c.returns as number[][]), tensor(c.mask as number[][]), c.clip as number);
    expectClose(out.loss.item(), c.loss as number);
    out.loss.backward();
    expectClose(v.grad, (c.grads as Nested[])[0] as Nested);
  });
});

describe('masked token cross-entropy', () => {
  it('matches PyTorch value and logits gradient', () => {
    const c = g.sft as Record<string, Nested>;
    const logits = leaf(c.logits as Nested);
    const out = tokenCrossEntropy(logits, tensor(c.labels as number[][], { dtype: 'int64' }), tensor(c.mask as number[][]));
    expectClose(out.loss.item(), c.loss as number);
    out.loss.backward();
    expectClose(logits.grad, (c.grads as Nested[])[0] as Nested);
  });
});
