// A-LoL's four losses (alol, seq, ref-free, kl) against reference/golden/alol.json (reference/alol.py, PyTorch, as LoL-RL computes them).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alolLoss, type AlolVariant } from '../../src/losses/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

interface Case {
  variant: AlolVariant;
  clip: number;
  beta: number;
  loss: number;
  grad: number[][];
  nll: number;
  logRatio: number;
}
const g = JSON.parse(readFileSync('reference/golden/alol.json', 'utf8')) as { logProbs: number[][]; refLogProbs: number[][]; mask: number[][]; advantages: number[]; cases: Case[] };

describe('A-LoL loss', () => {
  for (const c of g.cases) {
    it(`${c.variant} ε=${c.clip} β=${c.beta}: value, metrics and gradient of the policy log-probs match PyTorch`, () => {
      const logProbs = tensor(g.logProbs, { requiresGrad: true });
      const out = alolLoss({ logProbs, refLogProbs: tensor(g.refLogProbs), mask: tensor(g.mask), advantages: tensor(g.advantages) }, { variant: c.variant, clip: c.clip, beta: c.beta });
      expectAllClose(out.loss.item(), c.loss);
      expectAllClose([out.metrics.nll, out.metrics.logRatio] as number[], [c.nll, c.logRatio]);
      out.loss.backward();
      expectAllClose(logProbs.grad?.mul(tensor(g.mask)) as NonNullable<typeof logProbs.grad>, c.grad);
    });
  }

  it('a zero advantage gives no gradient (A-LoL learns only from responses better than the value estimate)', () => {
    const logProbs = tensor([[-1, -2]], { requiresGrad: true });
    const out = alolLoss({ logProbs, refLogProbs: tensor([[-1.5, -1]]), mask: tensor([[1, 1]]), advantages: tensor([0]) }, { variant: 'alol', clip: 0.9, beta: 0 });
    out.loss.backward();
    expect(logProbs.grad?.abs().sum().item()).toBe(0);
  });
});
