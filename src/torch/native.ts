// Loads the libtorch addon and declares the functions it exports (handles are opaque).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An opaque native tensor handle (a N-API external owning one at::Tensor). */
export type Handle = { readonly __tensor: unique symbol };
/** An opaque native optimiser handle. */
export type OptimHandle = { readonly __optim: unique symbol };
/** An opaque c10d TCPStore handle. */
export type StoreHandle = { readonly __store: unique symbol };
/** An opaque c10d Gloo process group handle. */
export type GroupHandle = { readonly __group: unique symbol };
type Operand = Handle | number | boolean;
type Opt<T> = T | undefined | null;

export interface NativeTorch {
  fromBuffer(bytes: Uint8Array, dtype: string, shape: number[], device?: string): Handle;
  toBuffer(h: Handle): Uint8Array;
  shape(h: Handle): number[];
  dtype(h: Handle): string;
  device(h: Handle): string;
  item(h: Handle): number;
  dispose(h: Handle): void;
  isDisposed(h: Handle): boolean;
  /** Frees h's tensor when `owner` is garbage-collected (unless disposed first). */
  adopt(owner: object, h: Handle): void;
  zeros(shape: number[], dtype?: string, device?: string): Handle;
  ones(shape: number[], dtype?: string, device?: string): Handle;
  rand(shape: number[], dtype?: string, device?: string): Handle;
  randn(shape: number[], dtype?: string, device?: string): Handle;
  full(shape: number[], value: number | boolean, dtype?: string, device?: string): Handle;
  arange(start: number, end: number, step: number, dtype?: string, device?: string): Handle;
  randint(low: number, high: number, shape: number[], device?: string): Handle;
  manualSeed(seed: number): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setGradEnabled(on: boolean): void;
  isGradEnabled(): boolean;
  memoryStats(): { liveTensors: number; nativeBytes: number };
  /** The addon was built against a CUDA libtorch (see native/features.cjs). */
  hasCuda: boolean;
  /** torch::cuda::is_available(): CUDA compiled in and a driver with at least one device. */
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;

  add(a: Handle, b: Operand, alpha?: number): Handle;
  sub(a: Handle, b: Operand, alpha?: number): Handle;
  mul(a: Handle, b: Operand): Handle;
  div(a: Handle, b: Operand): Handle;
  pow(a: Handle, b: Operand): Handle;
  eq(a: Handle, b: Operand): Handle;
  ne(a: Handle, b: Operand): Handle;
  lt(a: Handle, b: Operand): Handle;
  le(a: Handle, b: Operand): Handle;
  gt(a: Handle, b: Operand): Handle;
  ge(a: Handle, b: Operand): Handle;
  maximum(a: Handle, b: Operand): Handle;
  minimum(a: Handle, b: Operand): Handle;
  logicalAnd(a: Handle, b: Operand): Handle;
  logicalOr(a: Handle, b: Operand): Handle;
  matmul(a: Handle, b: Handle): Handle;
  bmm(a: Handle, b: Handle): Handle;
  neg(a: Handle): Handle;
  exp(a: Handle): Handle;
  log(a: Handle): Handle;
  sqrt(a: Handle): Handle;
  rsqrt(a: Handle): Handle;
  abs(a: Handle): Handle;
  sign(a: Handle): Handle;
  sin(a: Handle): Handle;
  cos(a: Handle): Handle;
  tanh(a: Handle): Handle;
  sigmoid(a: Handle): Handle;
  relu(a: Handle): Handle;
  silu(a: Handle): Handle;
  logsigmoid(a: Handle): Handle;
  logicalNot(a: Handle): Handle;
  contiguous(a: Handle): Handle;
  clone(a: Handle): Handle;
  detach(a: Handle): Handle;
  any(a: Handle): Handle;
  all(a: Handle): Handle;
  norm(a: Handle): Handle;
  gelu(a: Handle, approximate?: string): Handle;
  softmax(a: Handle, dim: number): Handle;
  logSoftmax(a: Handle, dim: number): Handle;
  clamp(a: Handle, min: Opt<number>, max: Opt<number>): Handle;
  cumsum(a: Handle, dim: number): Handle;
  triu(a: Handle, k: number): Handle;
  tril(a: Handle, k: number): Handle;
  multinomial(a: Handle, n: number, replacement: boolean): Handle;
  multinomialRows(a: Handle, rows: number[], batch: number): Handle;
  /** multinomialRows draws CPU rows itself: its draws match this libtorch's multinomial (checked once); else it calls multinomial. */
  multinomialRowsDrawsOwn(): boolean;
  reshape(a: Handle, shape: number[]): Handle;
  view(a: Handle, shape: number[]): Handle;
  permute(a: Handle, dims: number[]): Handle;
  transpose(a: Handle, d0: number, d1: number): Handle;
  unsqueeze(a: Handle, d: number): Handle;
  squeeze(a: Handle, d: Opt<number>): Handle;
  expand(a: Handle, shape: number[]): Handle;
  flatten(a: Handle, start: number, end: number): Handle;
  repeat(a: Handle, reps: number[]): Handle;
  narrow(a: Handle, dim: number, start: number, length: number): Handle;
  select(a: Handle, dim: number, index: number): Handle;
  slice(a: Handle, dim: number, start: Opt<number>, end: Opt<number>, step: Opt<number>): Handle;
  indexSelect(a: Handle, dim: number, index: Handle): Handle;
  gather(a: Handle, dim: number, index: Handle): Handle;
  scatter(a: Handle, dim: number, index: Handle, src: Operand): Handle;
  maskedFill(a: Handle, mask: Handle, value: Operand): Handle;
  sum(a: Handle, dims: Opt<number | number[]>, keepdim: boolean): Handle;
  mean(a: Handle, dims: Opt<number | number[]>, keepdim: boolean): Handle;
  max(a: Handle, dims: Opt<number | number[]>, keepdim: boolean): Handle;
  min(a: Handle, dims: Opt<number | number[]>, keepdim: boolean): Handle;
  argmax(a: Handle, dim: Opt<number>, keepdim: boolean): Handle;
  argmin(a: Handle, dim: Opt<number>, keepdim: boolean): Handle;
  logsumexp(a: Handle, dims: number | number[], keepdim: boolean): Handle;
  std(a: Handle, dims: Opt<number | number[]>, unbiased: boolean, keepdim: boolean): Handle;
  var(a: Handle, dims: Opt<number | number[]>, unbiased: boolean, keepdim: boolean): Handle;
  to(a: Handle, target: string): Handle;
  where(cond: Handle, a: Operand, b: Operand): Handle;
  cat(ts: Handle[], dim: number): Handle;
  stack(ts: Handle[], dim: number): Handle;
  topk(a: Handle, k: number, dim: number, largest: boolean): [Handle, Handle];
  sort(a: Handle, dim: number, descending: boolean): [Handle, Handle];
  copy_(a: Handle, src: Handle): void;
  zero_(a: Handle): void;
  gelu_(a: Handle, approximate?: string): void;
  fill_(a: Handle, v: number | boolean): void;
  requiresGrad_(a: Handle, on: boolean): void;
  requiresGrad(a: Handle): boolean;
  backward(a: Handle, grad?: Handle): void;
  grad(a: Handle): Handle | null;
  zeroGradOf(a: Handle): void;

  linear(x: Handle, w: Handle, b: Opt<Handle>): Handle;
  layerNorm(x: Handle, shape: number[], w: Opt<Handle>, b: Opt<Handle>, eps: number): Handle;
  attention(q: Handle, k: Handle, v: Handle, bias: Opt<Handle>, scale: number): Handle;
  keepRows_(t: Handle, keep: number[], length: number): void;
  embedding(w: Handle, idx: Handle): Handle;
  dropout(x: Handle, p: number, training: boolean): Handle;
  crossEntropy(logits: Handle, targets: Handle, ignoreIndex: number, reduction: string): Handle;

  adamw(params: Handle[], lr: number, beta1: number, beta2: number, eps: number, weightDecay: number): OptimHandle;
  sgd(params: Handle[], lr: number, momentum: number, weightDecay: number): OptimHandle;
  optimStep(o: OptimHandle): void;
  optimZeroGrad(o: OptimHandle): void;
  optimSetLr(o: OptimHandle, lr: number): void;
  optimGetLr(o: OptimHandle): number;
  optimState(o: OptimHandle): (Record<string, Handle | number> | null)[];
  optimSetState(o: OptimHandle, state: (Record<string, Handle | number> | null)[]): void;
  clipGradNorm(params: Handle[], maxNorm: number): number;

  // c10d (native/distributed.cc); the group functions exist only when the addon was built with Gloo, the
  // 'nccl' backend only when it was also built against a CUDA libtorch with NCCL's headers (hasNccl).
  hasGloo: boolean;
  hasNccl: boolean;
  storeCreate(host: string, port: number, isServer: boolean, timeoutMs: number): StoreHandle;
  storePort(s: StoreHandle): number;
  storeSet(s: StoreHandle, key: string, value: string): void;
  storeGet(s: StoreHandle, key: string): string;
  storeAdd(s: StoreHandle, key: string, delta: number): number;
  storeCheck(s: StoreHandle, keys: string[]): boolean;
  storeWait(s: StoreHandle, keys: string[], timeoutMs: number): void;
  groupCreate(s: StoreHandle, prefix: string, rank: number, size: number, timeoutMs: number, deviceKind: 'interface' | 'hostname' | 'default', device: string, backend: 'gloo' | 'nccl'): GroupHandle;
  allReduce(g: GroupHandle, ts: Handle[], op: string): void;
  broadcast(g: GroupHandle, ts: Handle[], root: number): void;
  allGather(g: GroupHandle, ts: Handle[]): Handle[];
  barrier(g: GroupHandle): void;
}

/** libtorch is missing or the addon was not built: says what to run. */
export class EngineLoadError extends Error {
  override name = 'EngineLoadError';
}

function load(): NativeTorch {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/torch (tsx, vitest) or dist/torch (compiled): the addon lives in <package>/native/build.
  const candidates = [join(here, '..', '..', 'native', 'build', 'Release', 'safealign_torch.node')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    throw new EngineLoadError(
      `the libtorch addon is not built (looked for ${candidates.join(', ')}). Run \`npm run build:native\` ` +
        '(needs libtorch: `apt-get install -y libtorch-dev libopenblas0-pthread`, or LIBTORCH=/path/to/libtorch).',
    );
  }
  // libtorch parallelises elementwise ops with OpenMP and matmuls with OpenBLAS's own pthreads. With
  // OpenMP's default active wait, its idle threads spin on the cores the BLAS threads need: measured
  // here (2 cores), forward passes ran 1.8x slower and KV-cache decoding 8x slower, in PyTorch as in
  // safealign. libgomp reads the policy once, when the addon loads it, so set it now unless the user
  // chose one. (Child processes, such as the PyTorch reference of bench/engine, inherit it.)
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    return createRequire(import.meta.url)(path) as NativeTorch;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_SAFEALIGN_SECOND_THREAD') throw new EngineLoadError(err.message);
    throw new EngineLoadError(`cannot load ${path}: ${err.message}. Rebuild it with \`npm run build:native\`.`);
  }
}

export const native: NativeTorch = load();
