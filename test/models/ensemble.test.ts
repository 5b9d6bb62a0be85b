// Score ensembles: mean/std/min and the uncertainty penalty; WARM averages member weights exactly.
import { describe, expect, it } from 'vitest';
import { ScoreEnsemble, warmAverage } from '../../src/algorithms/score/ensemble.js';
import { CausalLM, loadPretrained, ScoreModel } from '../../src/models/index.js';
import { manualSeed, noGrad, randn, tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

const lm = loadPretrained('reference/golden/tiny-gpt2').model as CausalLM;
function member(seed: number): ScoreModel {
  manualSeed(seed);
  const m = ScoreModel.fromCausalLM(lm, 'reward');
  noGrad(() => {
    for (const p of m.parameters()) p.copy_(p.add(randn(p.shape).mul(0.05)));
  });
  return m;
}
const ids = tensor([[5, 6, 7, 8], [9, 10, 11, 0]], { dtype: 'int64' });
const mask = tensor([[1, 1, 1, 1], [1, 1, 1, 0]], { dtype: 'int64' });

describe('ScoreEnsemble', () => {
  const members = [member(1), member(2), member(3)];
  const ens = new ScoreEnsemble(members);
  it('summarises member scores per sequence', () => {
    const each = members.map((m) => noGrad(() => m.forward(ids, mask).endScores.toNumbers()));
    const p = ens.predict(ids, mask);
    for (let b = 0; b < 2; b++) {
      const xs = each.map((e) => e[b] as number);
      const mean = xs.reduce((a, c) => a + c, 0) / 3;
      const std = Math.sqrt(xs.reduce((a, c) => a + (c - mean) ** 2, 0) / 3);
      expect(p.mean.toNumbers()[b]).toBeCloseTo(mean, 5);
      expect(p.std.toNumbers()[b]).toBeCloseTo(std, 5);
      expect(p.min.toNumbers()[b]).toBeCloseTo(Math.min(...xs), 5);
      expect(ens.score(ids, mask, { reduce: 'uncertainty', k: 2, lambda: 0.5 }, 'lower').toNumbers()[b]).toBeCloseTo(mean - 2 * std, 5);
    }
  });
  it('WARM is the elementwise mean of member weights', () => {
    const warm = warmAverage(members);
    const name = 'score_head.weight';
    const expected = members.map((m) => m.namedParameters().get(name)?.toNumbers() as number[]);
    expectAllClose(warm.namedParameters().get(name)!, (expected[0] as number[]).map((_, i) => expected.reduce((a, e) => a + (e[i] as number), 0) / 3), { atol: 1e-6 });
    expect(warm.scoreType).toBe('reward');
  });
});
