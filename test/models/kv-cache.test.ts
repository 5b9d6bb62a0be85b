// The preallocated KV cache: keeping the rows that go on decoding compacts the buffers in place (keepRows_) and gives, bit
// for bit, the cache an indexSelect of those rows gives; a step after it writes where a fresh cache would.
import { describe, expect, it } from 'vitest';
import { extendCache, keepCacheRows, preallocate, type LayerCache } from '../../src/models/attention.js';
import { cat, keepRows_, manualSeed, randn, tensor, tidy, zeros } from '../../src/torch/index.js';

/** A (B, H, L, hd) cache of random keys and values. */
function randomCache(b: number, h: number, l: number, hd: number): LayerCache {
  return { k: randn([b, h, l, hd]), v: randn([b, h, l, hd]) };
}

const rowsOf = (t: LayerCache['k'], keep: number[]) => t.indexSelect(0, tensor(keep, { dtype: 'int64' })).toArray();

describe('keepCacheRows', () => {
  const cases = [
    { name: 'rows dropped at the start, middle and end', b: 7, keep: [1, 2, 4, 5] },
    { name: 'the first rows kept (nothing moves)', b: 5, keep: [0, 1, 2] },
    { name: 'one row left, the last', b: 4, keep: [3] },
    { name: 'every row kept', b: 3, keep: [0, 1, 2] },
  ];
  for (const c of cases) {
    it(`${c.name}: a preallocated cache's filled positions equal an indexSelect of the rows, bit for bit`, () =>
      tidy(() => {
        manualSeed(5);
        const [h, l, hd, capacity] = [3, 4, 5, 9];
        const plain = randomCache(c.b, h, l, hd);
        const want = { k: rowsOf(plain.k, c.keep), v: rowsOf(plain.v, c.keep) };
        const kept = keepCacheRows(preallocate(plain, capacity), c.keep);
        expect(kept.length).toBe(l);
        expect(kept.k.shape).toEqual([c.keep.length, h, capacity, hd]);
        expect(kept.k.narrow(2, 0, l).toArray()).toEqual(want.k);
        expect(kept.v.narrow(2, 0, l).toArray()).toEqual(want.v);
        // a plain cache takes the indexSelect itself
        const plainKept = keepCacheRows(plain, c.keep);
        expect(plainKept.length).toBeUndefined();
        expect(plainKept.k.toArray()).toEqual(want.k);
        expect(plainKept.v.toArray()).toEqual(want.v);
      }));
  }

  it('twice in a row, with a decoding step written in place between them, equals a cache rebuilt from the kept rows', () =>
    tidy(() => {
      manualSeed(6);
      const [b, h, l, hd, capacity] = [6, 2, 3, 4, 8];
      const first = randomCache(b, h, l, hd);
      let cache = keepCacheRows(preallocate(first, capacity), [0, 2, 3, 5]);
      const step = { k: randn([4, h, 1, hd]), v: randn([4, h, 1, hd]) };
      cache = extendCache(cache, step.k, step.v).cache;
      cache = keepCacheRows(cache, [1, 3]);
      expect(cache.length).toBe(l + 1);
      // the same rows of the same tokens, built by concatenation and indexSelect
      const rebuilt = (t: LayerCache['k'], s: LayerCache['k']) => rowsOf(cat([t.indexSelect(0, tensor([0, 2, 3, 5], { dtype: 'int64' })), s], 2), [1, 3]);
      expect(cache.k.narrow(2, 0, l + 1).toArray()).toEqual(rebuilt(first.k, step.k));
      expect(cache.v.narrow(2, 0, l + 1).toArray()).toEqual(rebuilt(first.v, step.v));
    }));

  it('a buffer that is not contiguous (the copy path other devices take) gives the same rows', () =>
    tidy(() => {
      manualSeed(7);
      const t = randn([3, 5, 6, 2]).transpose(0, 1); // (5, 3, 6, 2), rows not contiguous
      const want = rowsOf(t, [1, 3, 4]);
      keepRows_(t, [1, 3, 4], 6);
      expect(t.narrow(0, 0, 3).toArray()).toEqual(want);
    }));

  it('bad rows are a clear error', () =>
    tidy(() => {
      const t = zeros([4, 2, 5, 3]);
      expect(() => keepRows_(t, [2, 1], 3)).toThrow(/increasing row indices below 4/);
      expect(() => keepRows_(t, [0, 4], 3)).toThrow(/increasing row indices below 4/);
      expect(() => keepRows_(t, [0], 6)).toThrow(/length 6 is outside the cache's capacity 5/);
      expect(() => keepRows_(zeros([4, 5]), [0], 1)).toThrow(/expected a \(B, H, capacity, hd\) cache/);
    }));
});
