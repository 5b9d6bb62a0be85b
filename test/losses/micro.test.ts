// MiCRo's mixture Bradley–Terry loss and Hedge routing against reference/golden/micro.json (reference/micro.py, PyTorch autograd).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { groupedMixtureBtLoss, headLogLosses, hedgeLogWeights, mixtureBtLoss, rewardModelLoss } from '../../src/losses/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

interface Case { reg: number; loss: number; prob: number[]; accuracy: number; dBetter: number[][]; dWorse: number[][]; dRouter: number[][] }
const g = JSON.parse(readFileSync('reference/golden/micro.json', 'utf8')) as {
  better: number[][];
  worse: number[][];
  router: number[][];
  cases: Case[];
  grouped: Omit<Case, 'prob' | 'accuracy'>[];
  singleHeadLoss: number;
  hedge: { eta: number; pairs: number; headLosses: number[][]; prior: number[]; posterior: number[] };
};

describe('mixtureBtLoss', () => {
  for (const c of g.cases) {
    it(`reg ${c.reg}: loss, accuracy and gradients in the heads' scores and the router logits match PyTorch`, () => {
      const better = tensor(g.better, { requiresGrad: true });
      const worse = tensor(g.worse, { requiresGrad: true });
      const router = tensor(g.router, { requiresGrad: true });
      const out = mixtureBtLoss(better, worse, router, c.reg);
      expectAllClose(out.loss, c.loss);
      expect(out.metrics.accuracy).toBeCloseTo(c.accuracy, 6);
      out.loss.backward();
      expectAllClose(better.grad as NonNullable<typeof better.grad>, c.dBetter);
      expectAllClose(worse.grad as NonNullable<typeof worse.grad>, c.dWorse);
      expectAllClose(router.grad as NonNullable<typeof router.grad>, c.dRouter);
    });
  }

  it('one head is the Bradley–Terry reward-model loss', () => {
    const b = tensor(g.better.map((r) => [r[0] as number]));
    const w = tensor(g.worse.map((r) => [r[0] as number]));
    expectAllClose(mixtureBtLoss(b, w, tensor(g.better.map(() => [0])), 0).loss, g.singleHeadLoss);
    expectAllClose(rewardModelLoss(b.squeeze(1), w.squeeze(1), 0).loss, g.singleHeadLoss);
  });

  it('swapping preferred and other response raises the loss when the heads agree with the label', () => {
    const b = tensor([[2, 1.5], [1, 3]]);
    const w = tensor([[-1, 0], [0, -2]]);
    const r = tensor([[0.3, -0.2], [0, 1]]);
    expect(mixtureBtLoss(b, w, r, 0).loss.item()).toBeLessThan(mixtureBtLoss(w, b, r, 0).loss.item());
  });
});

describe('groupedMixtureBtLoss (one annotator\'s labels from one latent head)', () => {
  for (const c of g.grouped) {
    it(`reg ${c.reg}: loss and gradients match PyTorch`, () => {
      const better = tensor(g.better, { requiresGrad: true });
      const worse = tensor(g.worse, { requiresGrad: true });
      const router = tensor(g.router, { requiresGrad: true });
      const out = groupedMixtureBtLoss(better, worse, router, c.reg);
      expectAllClose(out.loss, c.loss);
      out.loss.backward();
      expectAllClose(better.grad as NonNullable<typeof better.grad>, c.dBetter);
      expectAllClose(worse.grad as NonNullable<typeof worse.grad>, c.dWorse);
      expectAllClose(router.grad as NonNullable<typeof router.grad>, c.dRouter);
    });
  }
});

describe('Hedge routing', () => {
  it('per-head log-losses and the posterior weights match PyTorch', () => {
    const n = g.hedge.pairs;
    const losses = headLogLosses(tensor(g.better.slice(0, n)), tensor(g.worse.slice(0, n)));
    expectAllClose(losses, g.hedge.headLosses);
    const logPrior = tensor(g.router[0] as number[]).logSoftmax(0);
    expectAllClose(logPrior.exp(), g.hedge.prior);
    expectAllClose(hedgeLogWeights(logPrior, losses.sum(0), g.hedge.eta).exp(), g.hedge.posterior);
  });

  it('moves weight to the head with the lower loss', () => {
    const w = hedgeLogWeights(tensor([Math.log(0.5), Math.log(0.5)]), tensor([3, 1]), 1).exp().toNumbers();
    expect(w[1]).toBeGreaterThan(w[0] as number);
  });
});
