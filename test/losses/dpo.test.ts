// Preference losses (DPO, cDPO, robust DPO, IPO, SafeDPO's offset) against reference/golden/dpo_losses.json (reference/dpo_losses.py, PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { preferenceLoss, safeDpoOffset, safeDpoOrder, type PreferenceVariant } from '../../src/losses/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

interface Case {
  variant: PreferenceVariant;
  beta: number;
  labelSmoothing: number;
  delta: number;
  loss: number;
  chosenReward: number;
  rejectedReward: number;
  margin: number;
  accuracy: number;
  grads: [number[], number[]];
}
const g = JSON.parse(readFileSync('reference/golden/dpo_losses.json', 'utf8')) as Record<string, number[]> & { cases: Case[]; softCases: { beta: number; loss: number; grads: [number[], number[]] }[] };
const unsafe = (xs: number[]) => xs.map((x) => x === 1);

describe('preference loss', () => {
  for (const c of g.cases) {
    it(`${c.variant} β=${c.beta} ε=${c.labelSmoothing} Δ=${c.delta}: value, implicit rewards and gradients match PyTorch`, () => {
      const policyChosen = tensor(g.policyChosen as number[], { requiresGrad: true });
      const policyRejected = tensor(g.policyRejected as number[], { requiresGrad: true });
      const lp = {
        policyChosen,
        policyRejected,
        refChosen: tensor(g.refChosen as number[]),
        refRejected: tensor(g.refRejected as number[]),
        chosenLengths: tensor(g.chosenLengths as number[]),
        rejectedLengths: tensor(g.rejectedLengths as number[]),
      };
      const chosenUnsafe = unsafe(g.chosenUnsafe as number[]);
      const rejectedUnsafe = unsafe(g.rejectedUnsafe as number[]);
      const offset = c.delta ? safeDpoOffset(chosenUnsafe.map((u, i) => ({ chosenUnsafe: u, rejectedUnsafe: rejectedUnsafe[i] as boolean })), c.delta) : undefined;
      const out = preferenceLoss(lp, { variant: c.variant, beta: c.beta, labelSmoothing: c.labelSmoothing }, offset);
      expectAllClose(out.loss.item(), c.loss);
      expectAllClose([out.metrics.chosenReward, out.metrics.rejectedReward, out.metrics.margin] as number[], [c.chosenReward, c.rejectedReward, c.margin]);
      expect(out.metrics.accuracy).toBeCloseTo(c.accuracy, 6);
      out.loss.backward();
      expectAllClose(policyChosen.grad as NonNullable<typeof policyChosen.grad>, c.grads[0]);
      expectAllClose(policyRejected.grad as NonNullable<typeof policyRejected.grad>, c.grads[1]);
    });
  }

  for (const c of g.softCases) {
    it(`soft labels (a per-pair ε, MoCAN's pseudo-preferences) β=${c.beta}: value and gradients match PyTorch`, () => {
      const policyChosen = tensor(g.policyChosen as number[], { requiresGrad: true });
      const policyRejected = tensor(g.policyRejected as number[], { requiresGrad: true });
      const lp = { policyChosen, policyRejected, refChosen: tensor(g.refChosen as number[]), refRejected: tensor(g.refRejected as number[]), chosenLengths: tensor(g.chosenLengths as number[]), rejectedLengths: tensor(g.rejectedLengths as number[]) };
      const out = preferenceLoss(lp, { variant: 'sigmoid', beta: c.beta, labelSmoothing: 0 }, undefined, tensor(g.pairLabelSmoothing as number[]));
      expectAllClose(out.loss.item(), c.loss);
      out.loss.backward();
      expectAllClose(policyChosen.grad as NonNullable<typeof policyChosen.grad>, c.grads[0]);
      expectAllClose(policyRejected.grad as NonNullable<typeof policyRejected.grad>, c.grads[1]);
    });
  }

  it('rejects robust DPO with ε ≥ 0.5 (the correction divides by 1 − 2ε)', () => {
    const x = tensor([0]);
    const lp = { policyChosen: x, policyRejected: x, refChosen: x, refRejected: x, chosenLengths: tensor([1]), rejectedLengths: tensor([1]) };
    expect(() => preferenceLoss(lp, { variant: 'robust', beta: 0.1, labelSmoothing: 0.5 })).toThrow(/labelSmoothing < 0.5/);
  });
});

describe('SafeDPO reordering', () => {
  it('the safe response wins when exactly one is unsafe; otherwise helpfulness order', () => {
    // better = 0 and unsafe, the other safe: swapped, the safe one is chosen with a positive offset
    expect(safeDpoOrder(0, [false, true], 'keep')).toEqual({ chosen: 1, rejected: 0, chosenUnsafe: false, rejectedUnsafe: true });
    // better = 0 and safe, the other unsafe: kept
    expect(safeDpoOrder(0, [true, false], 'keep')).toEqual({ chosen: 0, rejected: 1, chosenUnsafe: false, rejectedUnsafe: true });
    expect(safeDpoOrder(1, [true, true], 'keep')).toEqual({ chosen: 1, rejected: 0, chosenUnsafe: false, rejectedUnsafe: false });
    expect(safeDpoOrder(1, [false, false], 'keep')).toEqual({ chosen: 1, rejected: 0, chosenUnsafe: true, rejectedUnsafe: true });
    expect(safeDpoOrder(1, [false, false], 'drop')).toBeNull();
    expect(safeDpoOrder(1, [true, false], 'drop')).toEqual({ chosen: 0, rejected: 1, chosenUnsafe: false, rejectedUnsafe: true });
  });

  it('offsets only safe-over-unsafe pairs, by Δ', () => {
    const pairs = [safeDpoOrder(0, [false, true], 'keep'), safeDpoOrder(0, [true, true], 'keep'), safeDpoOrder(0, [false, false], 'keep')];
    expect(safeDpoOffset(pairs as NonNullable<(typeof pairs)[number]>[], 2).toNumbers()).toEqual([2, 0, 0]);
  });
});
