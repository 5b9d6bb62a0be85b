// Causal self-attention from matmul + mask + softmax (libtorch 1.13 has no fused attention), with a KV cache.
import { arange, attention, cat, keepRows_, tensor, zeros, type Tensor } from '../torch/index.js';

/**
 * Keys and values of earlier positions for one layer: (B, H, Lpast, hd) each — or, with `length`, buffers (B, H, capacity, hd)
 * preallocated for the whole generation whose first `length` positions are filled: a step writes its keys and values in
 * place instead of copying the cache into a longer one (`preallocate`).
 */
export interface LayerCache {
  k: Tensor;
  v: Tensor;
  length?: number;
}

/** Copies a cache (B, H, Lpast, hd) into buffers of `capacity` positions (zeros after Lpast), to be extended in place. */
export function preallocate(cache: LayerCache, capacity: number): LayerCache {
  const [b, , l, hd] = cache.k.shape as [number, number, number, number];
  const buffer = (t: Tensor) => {
    const out = zeros([b, t.shape[1] as number, capacity, hd], { dtype: t.dtype, device: t.device });
    const filled = out.narrow(2, 0, l);
    filled.copy_(t);
    filled.dispose();
    return out;
  };
  if (capacity < l) throw new RangeError(`a cache of ${l} positions does not fit in ${capacity}`);
  return { k: buffer(cache.k), v: buffer(cache.v), length: l };
}

/**
 * The cache of the batch rows `keep` (increasing indices into its B rows), in that order. A preallocated cache is compacted
 * in place (its kept rows' filled positions moved to the front of its buffers, `keepRows_`) and continues as views of
 * their first keep.length rows: no copy of the whole capacity. The values are those an indexSelect of the rows gives.
 */
export function keepCacheRows(cache: LayerCache, keep: readonly number[]): LayerCache {
  if (cache.length === undefined) {
    const index = tensor([...keep], { dtype: 'int64', device: cache.k.device });
    return { k: cache.k.indexSelect(0, index), v: cache.v.indexSelect(0, index) };
  }
  keepRows_(cache.k, keep, cache.length);
  keepRows_(cache.v, keep, cache.length);
  return { k: cache.k.narrow(0, 0, keep.length), v: cache.v.narrow(0, 0, keep.length), length: cache.length };
}

/**
 * A layer's keys and values over past and new positions, for attention, and its cache to pass on. k, v: (B, Hkv, L, hd) of
 * the new positions. A plain cache is concatenated with them; a preallocated one (LayerCache.length) gets them written
 * in place after its filled positions and is passed on with the longer length (its buffers are the same tensors).
 */
export function extendCache(past: LayerCache | undefined, k: Tensor, v: Tensor): { k: Tensor; v: Tensor; cache: LayerCache } {
  if (!past) return { k, v, cache: { k, v } };
  if (past.length === undefined) {
    const [kk, vv] = [cat([past.k, k], 2), cat([past.v, v], 2)];
    return { k: kk, v: vv, cache: { k: kk, v: vv } };
  }
  const l = k.shape[2] as number;
  const length = past.length + l;
  if (length > (past.k.shape[2] as number)) throw new RangeError(`the preallocated cache holds ${past.k.shape[2]} positions; ${length} are needed`);
  for (const [buffer, t] of [[past.k, k], [past.v, v]] as const) {
    const slot = buffer.narrow(2, past.length, l);
    slot.copy_(t);
    slot.dispose();
  }
  return { k: past.k.narrow(2, 0, length), v: past.v.narrow(2, 0, length), cache: { k: past.k, v: past.v, length } };
}

/** Large negative instead of -inf so fully masked (left-padding) rows stay finite, as in HF. */
const MASKED = -1e9;

/**
 * Additive attention mask (B, 1, Lq, Lk): 0 where query i may see key j (j <= past + i and key j
 * is not padding), MASKED elsewhere. attentionMask: (B, Lk) int/float 0-1 over past + new positions.
 */
export function attentionBias(attentionMask: Tensor, queryLength: number): Tensor {
  const keyLength = attentionMask.shape[1] as number;
  const batch = attentionMask.shape[0] as number;
  // One new token (cached decoding) sees every earlier key: only padding is masked.
  if (queryLength === 1) return attentionMask.eq(0).float().mul(MASKED).reshape([batch, 1, 1, keyLength]);
  const past = keyLength - queryLength;
  const device = attentionMask.device;
  const q = arange(past, keyLength, 1, { device }).reshape([queryLength, 1]);
  const k = arange(0, keyLength, 1, { device }).reshape([1, keyLength]);
  const causal = k.le(q); // (Lq, Lk)
  const keyValid = attentionMask.gt(0).reshape([attentionMask.shape[0] as number, 1, 1, keyLength]);
  const allowed = keyValid.logicalAnd(causal.unsqueeze(0).unsqueeze(0));
  return allowed.logicalNot().float().mul(MASKED);
}

/** Position ids from the attention mask (left padding aware): cumsum - 1, pads at 0. mask: (B, L) -> (B, L) int64. */
export function positionIds(attentionMask: Tensor): Tensor {
  const m = attentionMask.long();
  return m.cumsum(1).sub(1).maskedFill(m.eq(0), 0);
}

/** Position ids of the last `length` positions only; for one token (cached decoding) that is count(mask) - 1. */
export function lastPositionIds(attentionMask: Tensor, length: number): Tensor {
  if (length === 1) return attentionMask.long().sum(1, true).sub(1).clamp(0);
  return positionIds(attentionMask).narrow(1, (attentionMask.shape[1] as number) - length, length);
}

/**
 * Scaled dot-product attention. q: (B, H, Lq, hd); k, v: (B, Hkv, Lk, hd) with H a multiple of
 * Hkv (grouped-query attention repeats each KV head H/Hkv times); bias: (B, 1, Lq, Lk), or null
 * where every query sees every key (a vision encoder). Returns (B, Lq, H·hd).
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | null): Tensor {
  return attention(q, k, v, bias, 1 / Math.sqrt(q.shape[3] as number));
}

/**
 * What a layer computes its output from when only the last `keep` of its L positions are read (0 < keep < L): those rows of
 * its input x (B, L, D), of its queries (B, L, ·) and of the attention bias (B, 1, L, Lk); all of them when keep is 0 or ≥ L.
 * Each output row depends on its own row of these (and on every key and value), so the kept rows equal the full pass's.
 * `release` frees the views once the layer has used them.
 */
export function lastRows(keep: number, x: Tensor, query: Tensor, bias: Tensor): { x: Tensor; query: Tensor; bias: Tensor; release(): void } {
  const l = x.shape[1] as number;
  if (!(keep > 0 && keep < l)) return { x, query, bias, release: () => undefined };
  const views = [x.narrow(1, l - keep, keep), query.narrow(1, l - keep, keep), bias.narrow(2, l - keep, keep)] as const;
  // the views would keep the whole (B, L, ·) tensors alive until the caller's scope ends
  return { x: views[0], query: views[1], bias: views[2], release: () => views.forEach((v) => v.dispose()) };
}

/** Splits (B, L, H·hd) into heads (B, H, L, hd). */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, l, d] = x.shape as [number, number, number];
  return x.view([b, l, heads, d / heads]).transpose(1, 2);
}
