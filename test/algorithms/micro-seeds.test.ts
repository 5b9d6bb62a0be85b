// MiCRo over replicates (per-type means with t-intervals, the paired MiCRo − BT difference) and as an RL reward (heads weighted by a group's mean Hedge weights).
import { describe, expect, it } from 'vitest';
import { aggregateByGroup, meanHedgeWeights, routedWeights } from '../../src/algorithms/micro/compare.js';
import { MixtureScoreModel } from '../../src/algorithms/micro/model.js';
import { HeadWeightedScorer } from '../../src/algorithms/micro/scorer.js';
import { setNumThreads, tensor } from '../../src/torch/index.js';
import { tinyActor, tinyTokenizer } from './rl-tiny.js';
import { pairedDifference, tInterval } from '../../src/eval/intervals.js';

const acc = (micro: number, single: number, n = 10) => ({ n, micro, microUnrouted: (micro + single) / 2, single });

describe('aggregateByGroup', () => {
  it('aggregates each group over the replicates that have it, pairing MiCRo with the BT head of the same replicate', () => {
    const out = aggregateByGroup([
      { byGroup: { brief: acc(0.6, 0.5), all: acc(0.7, 0.68, 30) } },
      { byGroup: { brief: acc(0.55, 0.52), all: acc(0.72, 0.66, 30) } },
      { byGroup: { brief: acc(0.62, 0.47), all: acc(0.69, 0.7, 30), cautious: acc(0.8, 0.7, 5) } },
    ]);
    expect(Object.keys(out)).toEqual(['all', 'brief', 'cautious']);
    expect(out.brief?.micro).toEqual(tInterval([0.6, 0.55, 0.62]));
    expect(out.brief?.single).toEqual(tInterval([0.5, 0.52, 0.47]));
    expect(out.brief?.microUnrouted.mean).toBeCloseTo((0.55 + 0.535 + 0.545) / 3, 12);
    // paired: the mean of the per-replicate differences, whose spread is smaller than either side's
    expect(out.all?.microMinusSingle).toEqual(pairedDifference([0.7, 0.72, 0.69], [0.68, 0.66, 0.7]));
    expect(out.brief?.microMinusSingle.mean).toBeCloseTo((0.1 + 0.03 + 0.15) / 3, 12);
    expect(out.all?.n).toEqual([30, 30, 30]);
    // a group seen in one replicate: a mean without an interval
    expect(out.cautious?.micro).toMatchObject({ mean: 0.8, lo: null, hi: null, n: 1 });
    expect(() => aggregateByGroup([])).toThrow(RangeError);
  });
});

describe('HeadWeightedScorer', () => {
  it("scores Σ_k w_k · r_k with the mixture's own head scores, whatever the router says; refuses weights that are not a distribution over its heads", () => {
    setNumThreads(1);
    const tokenizer = tinyTokenizer();
    const model = MixtureScoreModel.fromBackbone(tinyActor(tokenizer, 5), 3);
    const ids = tensor([[3, 4, 5, 6], [7, 8, 9, 0]], { dtype: 'int64' });
    const mask = tensor([[1, 1, 1, 1], [1, 1, 1, 0]], { dtype: 'int64' });
    const heads = model.forward(ids, mask, tensor([1, 1], { dtype: 'int64' })).endScores.toArray() as number[][];
    const w = [0.2, 0.5, 0.3];
    const scored = new HeadWeightedScorer(model, w).forward(ids, mask).endScores.toArray() as number[];
    heads.forEach((row, b) => expect(scored[b]).toBeCloseTo(row.reduce((a, r, k) => a + (w[k] as number) * r, 0), 5));
    // one-hot weights give that head
    expect((new HeadWeightedScorer(model, [0, 1, 0]).forward(ids, mask).endScores.toArray() as number[])[0]).toBeCloseTo(heads[0]?.[1] as number, 5);
    expect(() => new HeadWeightedScorer(model, [0.5, 0.5])).toThrow(/2 weights for a mixture of 3 heads/);
    expect(() => new HeadWeightedScorer(model, [0.5, 0.6, -0.1])).toThrow(/non-negative and sum to 1/);
  });

  it('a group of users gets the mean of its members\' Hedge weights softmax(−η · head losses)', () => {
    // user u: losses (0, ln 3) -> weights (3/4, 1/4); user v: (ln 3, 0) -> (1/4, 3/4)
    expect(meanHedgeWeights([[0, Math.log(3)]], 1)).toEqual([0.75, 0.25].map((x) => expect.closeTo(x, 12)));
    expect(meanHedgeWeights([[0, Math.log(3)], [Math.log(3), 0], [0, Math.log(3)]], 1).map((x) => x * 12)).toEqual([7, 5].map((x) => expect.closeTo(x, 10)));
    const routing = { u: { headLoss: [0, Math.log(3)], pairs: 2 }, v: { headLoss: [Math.log(3), 0], pairs: 2 } };
    expect(routedWeights(routing, 2, (a) => a)).toEqual({ u: meanHedgeWeights([[0, Math.log(3)]], 2), v: meanHedgeWeights([[Math.log(3), 0]], 2) });
    expect(meanHedgeWeights([[0, Math.log(3)]], 2)).toEqual([0.9, 0.1].map((x) => expect.closeTo(x, 12)));
  });
});
