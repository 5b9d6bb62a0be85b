// The weak-to-strong auxiliary confidence loss and its weight schedule against reference/golden/weak_to_strong.json (openai/weak-to-strong's logconf_loss_fn in PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { confidenceLoss, confidenceWeight, quantile } from '../../src/losses/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

interface Case { labels: string; weak: number[]; alpha: number; loss: number; threshold: number; strong: number[]; dMargins: number[] }
const g = JSON.parse(readFileSync('reference/golden/weak_to_strong.json', 'utf8')) as {
  margins: number[];
  cases: Case[];
  schedule: { auxCoef: number; warmupFrac: number; points: { stepFrac: number; alpha: number }[] };
};

describe('confidenceLoss', () => {
  for (const c of g.cases) {
    it(`${c.labels} weak labels, α ${c.alpha}: loss, threshold and gradient match PyTorch`, () => {
      const m = tensor(g.margins, { requiresGrad: true });
      const out = confidenceLoss(m, tensor(c.weak), c.alpha);
      expectAllClose(out.loss, c.loss);
      expect(out.metrics.threshold).toBeCloseTo(c.threshold, 5);
      out.loss.backward();
      expectAllClose(m.grad as NonNullable<typeof m.grad>, c.dMargins);
    });
  }

  it('α = 0 is the soft-label cross-entropy of the weak labels', () => {
    const m = tensor([1, -2, 0.5]);
    const y = [0.9, 0.2, 0.5];
    const ce = -y.reduce((s, t, i) => {
      const z = [1, -2, 0.5][i] as number;
      return s + t * Math.log(1 / (1 + Math.exp(-z))) + (1 - t) * Math.log(1 / (1 + Math.exp(z)));
    }, 0) / 3;
    expectAllClose(confidenceLoss(m, tensor(y), 0).loss, ce);
  });

  it('with α > 0 a wrong weak label pulls less against the student\'s own confident prediction', () => {
    // the weak label says response 1 for row 0, where the student is confident in response 0 (its hardened label is 1)
    const weak = tensor([0, 0, 1, 0]);
    const grad0 = (alpha: number) => {
      const m = tensor([4, -3, 2, -1], { requiresGrad: true });
      confidenceLoss(m, weak, alpha).loss.backward();
      return (m.grad as NonNullable<typeof m.grad>).toNumbers()[0] as number;
    };
    // descent lowers row 0's margin (towards the weak label) by (p − target)/B: target 0 without the term, α with it
    const p = 1 / (1 + Math.exp(-4));
    expect(grad0(0)).toBeCloseTo(p / 4, 5);
    expect(grad0(0.75)).toBeCloseTo((p - 0.75) / 4, 5);
  });
});

describe('confidenceWeight and quantile', () => {
  it('α ramps linearly to auxCoef over the warm-up, then stays', () => {
    for (const p of g.schedule.points) expect(confidenceWeight(p.stepFrac, g.schedule.auxCoef, g.schedule.warmupFrac)).toBeCloseTo(p.alpha, 12);
  });
  it('quantile interpolates linearly between order statistics as torch.quantile does', () => {
    expect(quantile([3, 1, 2, 4], 0.5)).toBeCloseTo(2.5, 12);
    expect(quantile([3, 1, 2, 4], 0)).toBe(1);
    expect(quantile([3, 1, 2, 4], 1)).toBe(4);
    expect(quantile([10, 0], 0.25)).toBeCloseTo(2.5, 12);
  });
});
