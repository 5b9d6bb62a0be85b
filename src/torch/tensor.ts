// The Tensor class: one native at::Tensor behind a typed, method-chaining API (see docs/torch-api.md).
import { native, type Handle } from './native.js';
import { track } from './scope.js';

export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool';
/** Where a tensor lives: the CPU, a GPU (`cuda` = the current one), or libtorch's shape-only `meta` device (dry runs). */
export type Device = 'cpu' | 'cuda' | `cuda:${number}` | 'meta';
export type Shape = readonly number[];
type Operand = Tensor | number | boolean;
type Nested = number | boolean | Nested[];

/** An error raised by libtorch (shape or dtype mismatch, bad index, …), with libtorch's message. */
export class TorchError extends Error {
  override name = 'TorchError';
}

function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as Error;
    if (err?.name === 'TorchError' && !(err instanceof TorchError)) throw new TorchError(err.message);
    throw e;
  }
}

const op = (o: Operand): Handle | number | boolean => (o instanceof Tensor ? o.handle : o);

export class Tensor {
  private h: Handle | null;
  private cachedShape: number[] | undefined;

  /** @internal Wraps a native handle; use the creation functions instead. */
  constructor(handle: Handle) {
    this.h = handle;
    track(this);
  }

  /** @internal The native handle; throws if the tensor was disposed. */
  get handle(): Handle {
    if (this.h === null) throw new TorchError('tensor used after dispose()');
    return this.h;
  }

  private wrap(fn: (h: Handle) => Handle): Tensor {
    const h = this.handle;
    return new Tensor(call(() => fn(h)));
  }

  get shape(): number[] {
    this.cachedShape ??= native.shape(this.handle);
    return [...this.cachedShape];
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    return native.dtype(this.handle) as DType;
  }
  /** 'cpu', 'cuda:k' or 'meta'. */
  get device(): Device {
    return native.device(this.handle) as Device;
  }
  get isDisposed(): boolean {
    return this.h === null || native.isDisposed(this.h);
  }

  /** @internal Hands the tensor to the garbage collector (see Disposable.adopt in scope.ts). */
  adopt(): void {
    if (this.h !== null) native.adopt(this, this.h);
  }

  /** Frees the native tensor now. Safe to call twice. */
  dispose(): void {
    if (this.h !== null) native.dispose(this.h);
    this.h = null;
  }

  // --- reading back ------------------------------------------------------------------------------
  toBuffer(): Uint8Array {
    return call(() => native.toBuffer(this.handle));
  }
  private typed<T>(dtype: DType, make: (b: ArrayBuffer, off: number, n: number) => T, size: number): T {
    const t = this.dtype === dtype ? this : this.to(dtype);
    const bytes = t.toBuffer();
    if (t !== this) t.dispose();
    return make(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
  }
  toFloat32Array(): Float32Array {
    return this.typed('float32', (b, o, n) => new Float32Array(b, o, n), 4);
  }
  toFloat64Array(): Float64Array {
    return this.typed('float64', (b, o, n) => new Float64Array(b, o, n), 8);
  }
  toInt32Array(): Int32Array {
    return this.typed('int32', (b, o, n) => new Int32Array(b, o, n), 4);
  }
  toBigInt64Array(): BigInt64Array {
    return this.typed('int64', (b, o, n) => new BigInt64Array(b, o, n), 8);
  }
  toBoolArray(): Uint8Array {
    return this.typed('bool', (b, o, n) => new Uint8Array(b, o, n), 1);
  }
  /** Flat numbers; int64 values beyond ±2^53 are an error rather than silently rounded. */
  toNumbers(): number[] {
    switch (this.dtype) {
      case 'int64':
        return Array.from(this.toBigInt64Array(), (v) => {
          if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
            throw new RangeError(`int64 value ${v} does not fit a JS number exactly; use toBigInt64Array()`);
          }
          return Number(v);
        });
      case 'bool':
        return Array.from(this.toBoolArray());
      case 'float64':
        return Array.from(this.toFloat64Array());
      case 'int32':
        return Array.from(this.toInt32Array());
      default:
        return Array.from(this.toFloat32Array());
    }
  }
  /** Nested arrays following the shape. */
  toArray(): Nested {
    const flat = this.toNumbers();
    const shape = this.shape;
    if (shape.length === 0) return flat[0] as number;
    let i = 0;
    const build = (d: number): Nested[] =>
      Array.from({ length: shape[d] as number }, () => (d === shape.length - 1 ? (flat[i++] as number) : build(d + 1)));
    return build(0);
  }
  item(): number {
    return call(() => native.item(this.handle));
  }
  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}])`;
  }

  // --- conversion --------------------------------------------------------------------------------
  /** A copy in another dtype or on another device (itself, not a copy, when it already is one). */
  to(target: DType | Device): Tensor {
    return this.wrap((h) => native.to(h, target));
  }
  float(): Tensor {
    return this.to('float32');
  }
  long(): Tensor {
    return this.to('int64');
  }
  clone(): Tensor {
    return this.wrap((h) => native.clone(h));
  }
  detach(): Tensor {
    return this.wrap((h) => native.detach(h));
  }
  contiguous(): Tensor {
    return this.wrap((h) => native.contiguous(h));
  }

  // --- arithmetic and comparison -------------------------------------------------------------------
  add(o: Operand, alpha?: number): Tensor {
    return this.wrap((h) => native.add(h, op(o), alpha));
  }
  sub(o: Operand, alpha?: number): Tensor {
    return this.wrap((h) => native.sub(h, op(o), alpha));
  }
  mul(o: Operand): Tensor {
    return this.wrap((h) => native.mul(h, op(o)));
  }
  div(o: Operand): Tensor {
    return this.wrap((h) => native.div(h, op(o)));
  }
  pow(o: Operand): Tensor {
    return this.wrap((h) => native.pow(h, op(o)));
  }
  maximum(o: Operand): Tensor {
    return this.wrap((h) => native.maximum(h, op(o)));
  }
  minimum(o: Operand): Tensor {
    return this.wrap((h) => native.minimum(h, op(o)));
  }
  eq(o: Operand): Tensor {
    return this.wrap((h) => native.eq(h, op(o)));
  }
  ne(o: Operand): Tensor {
    return this.wrap((h) => native.ne(h, op(o)));
  }
  lt(o: Operand): Tensor {
    return this.wrap((h) => native.lt(h, op(o)));
  }
  le(o: Operand): Tensor {
    return this.wrap((h) => native.le(h, op(o)));
  }
  gt(o: Operand): Tensor {
    return this.wrap((h) => native.gt(h, op(o)));
  }
  ge(o: Operand): Tensor {
    return this.wrap((h) => native.ge(h, op(o)));
  }
  logicalAnd(o: Operand): Tensor {
    return this.wrap((h) => native.logicalAnd(h, op(o)));
  }
  logicalOr(o: Operand): Tensor {
    return this.wrap((h) => native.logicalOr(h, op(o)));
  }
  logicalNot(): Tensor {
    return this.wrap((h) => native.logicalNot(h));
  }
  matmul(o: Tensor): Tensor {
    return this.wrap((h) => native.matmul(h, o.handle));
  }
  bmm(o: Tensor): Tensor {
    return this.wrap((h) => native.bmm(h, o.handle));
  }

  // --- elementwise ---------------------------------------------------------------------------------
  neg(): Tensor {
    return this.wrap((h) => native.neg(h));
  }
  exp(): Tensor {
    return this.wrap((h) => native.exp(h));
  }
  log(): Tensor {
    return this.wrap((h) => native.log(h));
  }
  sqrt(): Tensor {
    return this.wrap((h) => native.sqrt(h));
  }
  rsqrt(): Tensor {
    return this.wrap((h) => native.rsqrt(h));
  }
  abs(): Tensor {
    return this.wrap((h) => native.abs(h));
  }
  sign(): Tensor {
    return this.wrap((h) => native.sign(h));
  }
  sin(): Tensor {
    return this.wrap((h) => native.sin(h));
  }
  cos(): Tensor {
    return this.wrap((h) => native.cos(h));
  }
  tanh(): Tensor {
    return this.wrap((h) => native.tanh(h));
  }
  sigmoid(): Tensor {
    return this.wrap((h) => native.sigmoid(h));
  }
  relu(): Tensor {
    return this.wrap((h) => native.relu(h));
  }
  silu(): Tensor {
    return this.wrap((h) => native.silu(h));
  }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return this.wrap((h) => native.gelu(h, approximate));
  }
  logsigmoid(): Tensor {
    return this.wrap((h) => native.logsigmoid(h));
  }
  softmax(dim: number): Tensor {
    return this.wrap((h) => native.softmax(h, dim));
  }
  logSoftmax(dim: number): Tensor {
    return this.wrap((h) => native.logSoftmax(h, dim));
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return this.wrap((h) => native.clamp(h, min, max));
  }

  // --- reductions ----------------------------------------------------------------------------------
  sum(dim?: number | number[], keepdim = false): Tensor {
    return this.wrap((h) => native.sum(h, dim, keepdim));
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return this.wrap((h) => native.mean(h, dim, keepdim));
  }
  max(dim?: number | number[], keepdim = false): Tensor {
    return this.wrap((h) => native.max(h, dim, keepdim));
  }
  min(dim?: number | number[], keepdim = false): Tensor {
    return this.wrap((h) => native.min(h, dim, keepdim));
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return this.wrap((h) => native.argmax(h, dim, keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return this.wrap((h) => native.argmin(h, dim, keepdim));
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return this.wrap((h) => native.logsumexp(h, dim, keepdim));
  }
  cumsum(dim: number): Tensor {
    return this.wrap((h) => native.cumsum(h, dim));
  }
  std(dim?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return this.wrap((h) => native.std(h, dim, opts.unbiased ?? true, opts.keepdim ?? false));
  }
  var(dim?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return this.wrap((h) => native.var(h, dim, opts.unbiased ?? true, opts.keepdim ?? false));
  }
  norm(): Tensor {
    return this.wrap((h) => native.norm(h));
  }
  any(): Tensor {
    return this.wrap((h) => native.any(h));
  }
  all(): Tensor {
    return this.wrap((h) => native.all(h));
  }

  // --- shapes --------------------------------------------------------------------------------------
  reshape(shape: Shape): Tensor {
    return this.wrap((h) => native.reshape(h, [...shape]));
  }
  view(shape: Shape): Tensor {
    return this.wrap((h) => native.view(h, [...shape]));
  }
  permute(dims: Shape): Tensor {
    return this.wrap((h) => native.permute(h, [...dims]));
  }
  transpose(a: number, b: number): Tensor {
    return this.wrap((h) => native.transpose(h, a, b));
  }
  unsqueeze(d: number): Tensor {
    return this.wrap((h) => native.unsqueeze(h, d));
  }
  squeeze(d?: number): Tensor {
    return this.wrap((h) => native.squeeze(h, d));
  }
  expand(shape: Shape): Tensor {
    return this.wrap((h) => native.expand(h, [...shape]));
  }
  flatten(start = 0, end = -1): Tensor {
    return this.wrap((h) => native.flatten(h, start, end));
  }
  repeat(reps: Shape): Tensor {
    return this.wrap((h) => native.repeat(h, [...reps]));
  }

  // --- indexing ------------------------------------------------------------------------------------
  narrow(dim: number, start: number, length: number): Tensor {
    return this.wrap((h) => native.narrow(h, dim, start, length));
  }
  select(dim: number, index: number): Tensor {
    return this.wrap((h) => native.select(h, dim, index));
  }
  slice(dim: number, start?: number, end?: number, step?: number): Tensor {
    return this.wrap((h) => native.slice(h, dim, start, end, step));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return this.wrap((h) => native.indexSelect(h, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return this.wrap((h) => native.gather(h, dim, index.handle));
  }
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor {
    return this.wrap((h) => native.scatter(h, dim, index.handle, op(src)));
  }
  maskedFill(mask: Tensor, value: Tensor | number): Tensor {
    return this.wrap((h) => native.maskedFill(h, mask.handle, op(value)));
  }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [v, i] = call(() => native.topk(this.handle, k, dim, largest));
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = call(() => native.sort(this.handle, dim, descending));
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  multinomial(numSamples: number, replacement = false): Tensor {
    return this.wrap((h) => native.multinomial(h, numSamples, replacement));
  }
  /**
   * probs (n, V) -> (n, 1) int64: row k's token is the one `multinomial(1)` draws for row rows[k] of a (batch, V) matrix
   * holding this row there (rows increasing, below batch), and the generator advances as that call advances it; the
   * matrix's other rows are not computed (generation: the rows that have stopped).
   */
  multinomialRows(rows: readonly number[], batch: number): Tensor {
    return this.wrap((h) => native.multinomialRows(h, [...rows], batch));
  }
  triu(k = 0): Tensor {
    return this.wrap((h) => native.triu(h, k));
  }
  tril(k = 0): Tensor {
    return this.wrap((h) => native.tril(h, k));
  }

  // --- in place (not recorded by autograd) ---------------------------------------------------------
  copy_(src: Tensor): this {
    call(() => native.copy_(this.handle, src.handle));
    return this;
  }
  zero_(): this {
    call(() => native.zero_(this.handle));
    return this;
  }
  /** GELU in place, for inference: the tensor must not require grad while grad mode is on (autograd needs gelu's input). */
  gelu_(approximate: 'none' | 'tanh' = 'none'): this {
    call(() => native.gelu_(this.handle, approximate));
    return this;
  }
  fill_(v: number | boolean): this {
    call(() => native.fill_(this.handle, v));
    return this;
  }

  // --- autograd ------------------------------------------------------------------------------------
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  requiresGrad_(on = true): this {
    call(() => native.requiresGrad_(this.handle, on));
    return this;
  }
  backward(grad?: Tensor): void {
    call(() => native.backward(this.handle, grad?.handle));
  }
  /** The accumulated gradient (a new handle sharing its storage), or null. */
  get grad(): Tensor | null {
    const g = call(() => native.grad(this.handle));
    return g === null ? null : new Tensor(g);
  }
  /** Drops the accumulated gradient. */
  clearGrad(): void {
    native.zeroGradOf(this.handle);
  }
}

export { call as callNative };
