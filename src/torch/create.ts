// Tensor creation: from JS arrays and typed arrays, constants, ranges and random numbers; seeds and threads.
import { cpus } from 'node:os';
import { deviceOrDefault } from './device.js';
import { native } from './native.js';
import { callNative, Tensor, type Device, type DType, type Shape } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  /** default: defaultDevice() (the CPU unless setDefaultDevice said otherwise) */
  device?: Device | undefined;
  requiresGrad?: boolean;
}

type Nested = number | boolean | readonly Nested[];
type TypedInput = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

const TYPED_DTYPE: [new (...a: never[]) => TypedInput, DType][] = [
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [Int32Array, 'int32'],
  [BigInt64Array, 'int64'],
  [Uint8Array, 'bool'],
];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let d: Nested = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = (d as readonly Nested[])[0] as Nested;
  }
  return shape;
}

function flatten(data: Nested, shape: number[], depth: number, out: (number | boolean)[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new TypeError('tensor(): ragged nested array (inner lists have different depths)');
    out.push(data as number | boolean);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(`tensor(): ragged nested array: expected ${shape[depth]} elements at depth ${depth}`);
  }
  for (const x of data) flatten(x, shape, depth + 1, out);
}

function toBytes(values: (number | boolean)[], dtype: DType): Uint8Array {
  let arr: TypedInput;
  switch (dtype) {
    case 'float64':
      arr = Float64Array.from(values, Number);
      break;
    case 'int32':
      arr = Int32Array.from(values, Number);
      break;
    case 'int64':
      arr = BigInt64Array.from(values, (v) => {
        const n = Number(v);
        if (!Number.isSafeInteger(n)) throw new RangeError(`tensor(): ${v} is not a safe integer for int64`);
        return BigInt(n);
      });
      break;
    case 'bool':
      arr = Uint8Array.from(values, (v) => (v ? 1 : 0));
      break;
    default:
      arr = Float32Array.from(values, Number);
  }
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/**
 * A tensor from nested JS arrays (shape inferred; float32 unless `dtype` says otherwise) or from a
 * typed array (dtype from its type; shape from `opts.shape`, default 1-D).
 */
export function tensor(data: Nested | TypedInput, opts: CreateOptions & { shape?: Shape } = {}): Tensor {
  let bytes: Uint8Array;
  let dtype: DType;
  let shape: number[];
  const typed = TYPED_DTYPE.find(([ctor]) => data instanceof ctor);
  if (typed) {
    const arr = data as TypedInput;
    dtype = typed[1];
    shape = opts.shape ? [...opts.shape] : [arr.length];
    bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
    if (opts.dtype && opts.dtype !== dtype) {
      const t = new Tensor(callNative(() => native.fromBuffer(bytes, dtype, shape, deviceOrDefault(opts.device))));
      const converted = t.to(opts.dtype);
      t.dispose();
      return finish(converted, opts);
    }
  } else {
    shape = opts.shape ? [...opts.shape] : inferShape(data as Nested);
    const flat: (number | boolean)[] = [];
    if (opts.shape) {
      const walk = (d: Nested) => (Array.isArray(d) ? d.forEach(walk) : flat.push(d as number));
      walk(data as Nested);
    } else flatten(data as Nested, shape, 0, flat);
    dtype = opts.dtype ?? (flat.length && typeof flat[0] === 'boolean' ? 'bool' : 'float32');
    bytes = toBytes(flat, dtype);
  }
  return finish(new Tensor(callNative(() => native.fromBuffer(bytes, dtype, shape, deviceOrDefault(opts.device)))), opts);
}

/** A tensor over a copy of little-endian raw bytes. */
export function fromBuffer(bytes: Uint8Array, dtype: DType, shape: Shape, device?: Device | undefined): Tensor {
  return new Tensor(callNative(() => native.fromBuffer(bytes, dtype, [...shape], deviceOrDefault(device))));
}

export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return finish(new Tensor(callNative(() => native.zeros([...shape], opts.dtype, deviceOrDefault(opts.device)))), opts);
}
export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return finish(new Tensor(callNative(() => native.ones([...shape], opts.dtype, deviceOrDefault(opts.device)))), opts);
}
export function full(shape: Shape, value: number | boolean, opts: CreateOptions = {}): Tensor {
  return finish(new Tensor(callNative(() => native.full([...shape], value, opts.dtype, deviceOrDefault(opts.device)))), opts);
}
/** Zeros of t's shape, dtype and device. */
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device });
}
/** Ones of t's shape, dtype and device. */
export function onesLike(t: Tensor): Tensor {
  return ones(t.shape, { dtype: t.dtype, device: t.device });
}
/** arange(end) or arange(start, end, step = 1, opts); int64 unless a dtype is given or a bound is fractional. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  const integral = [s, e, step].every(Number.isInteger);
  const dtype = opts.dtype ?? (integral ? 'int64' : 'float32');
  return finish(new Tensor(callNative(() => native.arange(s, e, step, dtype, deviceOrDefault(opts.device)))), opts);
}
/** Uniform [0, 1). */
export function rand(shape: Shape, opts: CreateOptions = {}): Tensor {
  return finish(new Tensor(callNative(() => native.rand([...shape], opts.dtype, deviceOrDefault(opts.device)))), opts);
}
/** Standard normal. */
export function randn(shape: Shape, opts: CreateOptions = {}): Tensor {
  return finish(new Tensor(callNative(() => native.randn([...shape], opts.dtype, deviceOrDefault(opts.device)))), opts);
}
/** Uniform integers in [low, high), int64. */
export function randint(low: number, high: number, shape: Shape, opts: { device?: Device | undefined } = {}): Tensor {
  return new Tensor(callNative(() => native.randint(low, high, [...shape], deviceOrDefault(opts.device))));
}

/** Seeds libtorch's default generator: same seed, same numbers, bit for bit on CPU. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
export function memoryStats(): { liveTensors: number; nativeBytes: number } {
  return native.memoryStats();
}

// Debian's libtorch starts with 1 thread; use every core unless the user says otherwise.
const envThreads = Number(process.env.SAFEALIGN_THREADS);
native.setNumThreads(Number.isInteger(envThreads) && envThreads > 0 ? envThreads : Math.max(1, cpus().length));
