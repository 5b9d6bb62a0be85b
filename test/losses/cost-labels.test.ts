// The cost model's classification term on per-response labels against reference/golden/cost_labels.json (reference/cost_labels.py, PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { costLabelLoss } from '../../src/losses/index.js';
import { AdamW, tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

const g = JSON.parse(readFileSync('reference/golden/cost_labels.json', 'utf8')) as { costs: number[]; isSafe: boolean[]; reg: number; loss: number; signAccuracy: number; grad: number[] };

describe('cost label loss', () => {
  it('matches PyTorch value, sign accuracy and gradient (tolerance 1e-5)', () => {
    const costs = tensor(g.costs, { requiresGrad: true });
    const out = costLabelLoss(costs, tensor(g.isSafe.map(Number), { dtype: 'bool' }), g.reg);
    expectAllClose(out.loss.item(), g.loss);
    expect(out.metrics.signAccuracy).toBeCloseTo(g.signAccuracy, 10);
    out.loss.backward();
    if (!costs.grad) throw new Error('no gradient');
    expectAllClose(costs.grad, g.grad);
  });

  it('trains safe responses below zero and unsafe ones above', () => {
    const costs = tensor([0.5, -0.3, 1.0, -1.0], { requiresGrad: true });
    const isSafe = tensor([1, 0, 1, 0], { dtype: 'bool' });
    const opt = new AdamW([costs], { lr: 0.1, weightDecay: 0 });
    for (let i = 0; i < 100; i++) {
      opt.zeroGrad();
      costLabelLoss(costs, isSafe).loss.backward();
      opt.step();
    }
    const [a, b, c, d] = costs.toNumbers() as [number, number, number, number];
    expect(Math.max(a, c)).toBeLessThan(0);
    expect(Math.min(b, d)).toBeGreaterThan(0);
  });
});
