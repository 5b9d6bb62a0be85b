// Free functions: joining tensors, where, grad mode, and the neural-network functions (PyTorch's F.*).
import { native } from './native.js';
import { callNative, Tensor, type Shape } from './tensor.js';

export function cat(ts: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(callNative(() => native.cat(ts.map((t) => t.handle), dim)));
}
export function stack(ts: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(callNative(() => native.stack(ts.map((t) => t.handle), dim)));
}
/** Elementwise `cond ? a : b` (a number operand takes the other's dtype). */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const h = (x: Tensor | number) => (x instanceof Tensor ? x.handle : x);
  return new Tensor(callNative(() => native.where(cond.handle, h(a), h(b))));
}

/** Runs `fn` with autograd recording off (restored afterwards, also on throw). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/** x @ weightᵀ + bias. x: (…, in); weight: (out, in); bias: (out). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return new Tensor(callNative(() => native.linear(x.handle, weight.handle, bias?.handle)));
}
/** Layer normalisation over the trailing `normalizedShape` dims. */
export function layerNorm(x: Tensor, normalizedShape: Shape, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return new Tensor(callNative(() => native.layerNorm(x.handle, [...normalizedShape], weight?.handle, bias?.handle, eps)));
}
/**
 * Scaled dot-product attention softmax(scale·q·kᵀ + bias)·v in one native call. q: (B, H, Lq, hd); k, v: (B, Hkv, Lk, hd) with
 * H a multiple of Hkv (each KV head serves H/Hkv query heads); bias: (B, 1, Lq, Lk) added to the scores, or null. Returns
 * (B, Lq, H·hd). One query (cached decoding) runs as an elementwise product and sum, several as one matrix product with
 * the scale and the bias inside (native/nn.cc).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | null, scale: number): Tensor {
  return new Tensor(callNative(() => native.attention(q.handle, k.handle, v.handle, bias?.handle, scale)));
}
/**
 * Compacts a preallocated KV-cache buffer t (B, H, capacity, hd) in place: row keep[j] moves to row j (keep strictly
 * increasing), the first `length` positions of dim 2 only (the filled ones); the caller goes on with t's first keep.length
 * rows. Copies the kept rows' filled positions at most once, where an indexSelect copies every row's whole capacity.
 */
export function keepRows_(t: Tensor, keep: readonly number[], length: number): void {
  callNative(() => native.keepRows_(t.handle, [...keep], length));
}
/** Rows of `weight` (V, D) at int64 `indices` (…) -> (…, D). */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return new Tensor(callNative(() => native.embedding(weight.handle, indices.handle)));
}
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  return new Tensor(callNative(() => native.dropout(x.handle, p, training)));
}
/** Cross-entropy of logits (N, C) against int64 targets (N); targets equal to ignoreIndex are skipped. */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  opts: { ignoreIndex?: number; reduction?: 'mean' | 'sum' | 'none' } = {},
): Tensor {
  return new Tensor(callNative(() => native.crossEntropy(logits.handle, targets.handle, opts.ignoreIndex ?? -100, opts.reduction ?? 'mean')));
}
