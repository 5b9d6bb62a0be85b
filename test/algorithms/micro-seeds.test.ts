// MiCRo's per-type accuracies over replicates: means with t-intervals and the paired MiCRo − BT difference per group.
import { describe, expect, it } from 'vitest';
import { aggregateByGroup } from '../../src/algorithms/micro/compare.js';
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
