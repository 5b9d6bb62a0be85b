// Passes over a rollout by length: rows of similar real length run together, each group cut to the columns its rows use, so padding is not computed.
import { cat, tensor, zeros, type Tensor } from '../../torch/index.js';

/** Rows that run together, in ascending order, and the columns [start, start + width) they use. */
export interface LengthBucket {
  rows: number[];
  start: number;
  width: number;
}

/** A split must save this share of the (row, column) cells of one padded pass to be worth its smaller matrix products. */
const MIN_SAVING = 0.1;

const cells = (bs: readonly LengthBucket[]) => bs.reduce((s, b) => s + b.rows.length * b.width, 0);

/**
 * Groups the rows of an attention mask (B, W) — left-padded prompts, right-padded responses — into 1, 2, 4, … up to
 * `maxBuckets` groups of neighbouring real lengths, each cut to the columns its rows use; keeps the split computing the
 * fewest cells if it saves at least 10% (else one group of every row, still cut to the columns some row uses).
 */
export function lengthBuckets(attentionMask: Tensor, maxBuckets = 4): LengthBucket[] {
  const mask = attentionMask.toArray() as number[][];
  const spans = mask.map((row, r) => {
    const first = row.indexOf(1);
    return { r, first: Math.max(first, 0), end: Math.max(row.lastIndexOf(1) + 1, 1) };
  });
  const bucket = (group: typeof spans): LengthBucket => {
    const start = Math.min(...group.map((s) => s.first));
    return { rows: group.map((s) => s.r).sort((a, b) => a - b), start, width: Math.max(...group.map((s) => s.end)) - start };
  };
  let best = [bucket(spans)];
  const sorted = [...spans].sort((a, b) => a.end - a.first - (b.end - b.first) || a.r - b.r);
  for (let k = 2; k <= Math.min(maxBuckets, sorted.length); k *= 2) {
    const size = Math.ceil(sorted.length / k);
    const split = Array.from({ length: k }, (_, i) => sorted.slice(i * size, (i + 1) * size)).filter((g) => g.length > 0).map(bucket);
    if (cells(split) <= (1 - MIN_SAVING) * cells([bucket(spans)]) && cells(split) < cells(best)) best = split;
  }
  return best;
}

/** One group of every row over every column of attentionMask (B, W): the plain padded pass. */
export function paddedBucket(attentionMask: Tensor): LengthBucket[] {
  const [n, width] = attentionMask.shape as [number, number];
  return [{ rows: Array.from({ length: n }, (_, i) => i), start: 0, width }];
}

/** True when `buckets` is one group of every row over every column: the plain padded pass. */
function isWhole(buckets: readonly LengthBucket[], width: number): boolean {
  const b = buckets[0];
  return buckets.length === 1 && b !== undefined && b.start === 0 && b.width === width;
}

/** Each bucket's rows and columns of x (B, W, …). */
function cut(x: Tensor, b: LengthBucket): Tensor {
  return x.indexSelect(0, tensor(b.rows, { dtype: 'int64', device: x.device })).narrow(1, b.start, b.width);
}

/** Puts rows given bucket by bucket back in batch order. */
function inBatchOrder(parts: Tensor[], buckets: readonly LengthBucket[]): Tensor {
  const order = buckets.flatMap((b) => b.rows);
  const inverse = new Array<number>(order.length);
  order.forEach((r, i) => (inverse[r] = i));
  const all = cat(parts, 0);
  return all.indexSelect(0, tensor(inverse, { dtype: 'int64', device: all.device }));
}

/** fn's per-row results (b,) on each bucket (ids, mask: (b, width); `bucket` says which rows), as (B,) in batch order. sequences, attentionMask: (B, W). */
export function byRows(buckets: readonly LengthBucket[], sequences: Tensor, attentionMask: Tensor, fn: (ids: Tensor, mask: Tensor, bucket: LengthBucket) => Tensor): Tensor {
  if (isWhole(buckets, sequences.shape[1] as number)) return fn(sequences, attentionMask, buckets[0] as LengthBucket);
  return inBatchOrder(buckets.map((b) => fn(cut(sequences, b), cut(attentionMask, b), b)), buckets);
}

/**
 * fn's per-position results on each bucket (ids, mask: (b, width); `bucket` says which columns), as (B, W − shift, …) in
 * batch order. fn returns (b, w, …) results for the last w columns of its bucket's range shifted left by `shift` (shift 1 for
 * next-token log-probs: column j predicts token j + 1), so it may compute only the columns a caller reads; zeros elsewhere.
 * Differentiable: gradients flow back to each bucket's results.
 */
export function byPositions(
  buckets: readonly LengthBucket[],
  sequences: Tensor,
  attentionMask: Tensor,
  fn: (ids: Tensor, mask: Tensor, bucket: LengthBucket) => Tensor,
  shift = 0,
): Tensor {
  const W = sequences.shape[1] as number;
  const parts = buckets.map((b) => {
    const whole = isWhole(buckets, W);
    const out = whole ? fn(sequences, attentionMask, b) : fn(cut(sequences, b), cut(attentionMask, b), b);
    const [n, w, ...rest] = out.shape as [number, number, ...number[]];
    const left = b.start + b.width - shift - w;
    const right = W - shift - (left + w);
    if (left === 0 && right === 0) return out;
    const like = { dtype: out.dtype, device: out.device };
    return cat([...(left > 0 ? [zeros([n, left, ...rest], like)] : []), out, ...(right > 0 ? [zeros([n, right, ...rest], like)] : [])], 1);
  });
  return isWhole(buckets, W) ? (parts[0] as Tensor) : inBatchOrder(parts, buckets);
}
