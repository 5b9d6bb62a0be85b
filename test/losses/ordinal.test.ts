// The ordinal severity head's cutpoints, level probabilities and loss against reference/golden/ordinal.json (reference/ordinal.py, PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { costLabelLoss, ordinalLogProbs, ordinalLoss, orderedCutpoints } from '../../src/losses/index.js';
import { AdamW, tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

interface Case {
  name: string;
  levels: number;
  scores: number[];
  logGaps: number[];
  labels: number[];
  reg: number;
  cutpoints: number[];
  probs: number[][];
  loss: number;
  accuracy: number;
  meanAbsError: number;
  signAccuracy: number;
  gradScores: number[];
  gradLogGaps: number[];
}
const golden = JSON.parse(readFileSync('reference/golden/ordinal.json', 'utf8')) as { cases: Case[] };

describe('ordinal (cumulative-link) severity loss', () => {
  for (const c of golden.cases) {
    it(`matches PyTorch: ${c.name} (cutpoints, probabilities, loss, metrics, gradients; tolerance 1e-5)`, () => {
      const scores = tensor(c.scores, { requiresGrad: true });
      const logGaps = tensor(c.logGaps, { requiresGrad: true });
      const cutpoints = orderedCutpoints(logGaps);
      expectAllClose(cutpoints, c.cutpoints);
      expectAllClose(ordinalLogProbs(scores, cutpoints).exp(), c.probs);
      const out = ordinalLoss(scores, cutpoints, tensor(c.labels, { dtype: 'int64' }), c.reg);
      expectAllClose(out.loss.item(), c.loss);
      expect(out.metrics.accuracy).toBeCloseTo(c.accuracy, 6);
      expect(out.metrics.meanAbsError).toBeCloseTo(c.meanAbsError, 6);
      expect(out.metrics.signAccuracy).toBeCloseTo(c.signAccuracy, 6);
      out.loss.backward();
      if (!scores.grad) throw new Error('no gradient for the scores');
      expectAllClose(scores.grad, c.gradScores);
      if (c.gradLogGaps.length > 0) {
        if (!logGaps.grad) throw new Error('no gradient for the cutpoint gaps');
        expectAllClose(logGaps.grad, c.gradLogGaps);
      }
    });
  }

  it('with two levels it is the cost label loss (safe below 0, unsafe above)', () => {
    const scores = tensor([1.5, -0.2, 3.0, -2.5]);
    const levels = tensor([1, 0, 0, 1], { dtype: 'int64' });
    const a = ordinalLoss(scores, orderedCutpoints(tensor([])), levels, 0.01);
    const b = costLabelLoss(scores, levels.eq(0), 0.01);
    expectAllClose(a.loss.item(), b.loss.item());
  });

  it('learns ordered scores and cutpoints that put each response in its level', () => {
    const scores = tensor([-2, -1, 0, 0.5, 1, 1.5], { requiresGrad: true });
    const logGaps = tensor([0, 0], { requiresGrad: true });
    const levels = tensor([3, 0, 2, 1, 0, 3], { dtype: 'int64' });
    const opt = new AdamW([scores, logGaps], { lr: 0.1, weightDecay: 0 });
    for (let i = 0; i < 300; i++) {
      opt.zeroGrad();
      ordinalLoss(scores, orderedCutpoints(logGaps), levels, 0).loss.backward();
      opt.step();
    }
    const out = ordinalLoss(scores, orderedCutpoints(logGaps), levels, 0);
    expect(out.metrics.accuracy).toBe(1);
    const s = scores.toNumbers();
    expect(s[1]).toBeLessThan(0); // safe below 0
    expect(s[3]).toBeGreaterThan(0);
    expect(s[0]).toBeGreaterThan(s[2] as number); // severe above moderate above minor
    expect(s[2]).toBeGreaterThan(s[3] as number);
  });
});
