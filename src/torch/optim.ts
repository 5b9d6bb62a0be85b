// libtorch's optimisers (AdamW, SGD) with exportable state, and global-norm gradient clipping; AdamW's float32 CPU step is one fused pass of our own (native/optim.cc).
import { native, type Handle, type OptimHandle } from './native.js';
import { callNative, Tensor } from './tensor.js';

/** Per-parameter optimiser state, as plain tensors and numbers (for checkpoints). */
export type OptimizerState = { params: ({ [k: string]: Tensor | number } | null)[]; lr: number };

abstract class Optimizer {
  protected readonly o: OptimHandle;
  constructor(
    readonly params: readonly Tensor[],
    make: (hs: Handle[]) => OptimHandle,
  ) {
    this.o = callNative(() => make(params.map((p) => p.handle)));
  }
  step(): void {
    callNative(() => native.optimStep(this.o));
  }
  zeroGrad(): void {
    native.optimZeroGrad(this.o);
  }
  get lr(): number {
    return native.optimGetLr(this.o);
  }
  set lr(v: number) {
    native.optimSetLr(this.o, v);
  }
  stateDict(): OptimizerState {
    const raw = callNative(() => native.optimState(this.o));
    return {
      lr: this.lr,
      params: raw.map((s) =>
        s === null ? null : Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : new Tensor(v)])),
      ),
    };
  }
  loadStateDict(state: OptimizerState): void {
    this.lr = state.lr;
    callNative(() =>
      native.optimSetState(
        this.o,
        state.params.map((s) => (s === null ? null : Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof Tensor ? v.handle : v])))),
      ),
    );
  }
}

export class AdamW extends Optimizer {
  constructor(params: readonly Tensor[], opts: { lr: number; betas?: [number, number]; eps?: number; weightDecay?: number }) {
    const [b1, b2] = opts.betas ?? [0.9, 0.999];
    super(params, (hs) => native.adamw(hs, opts.lr, b1, b2, opts.eps ?? 1e-8, opts.weightDecay ?? 0.01));
  }
}

export class SGD extends Optimizer {
  constructor(params: readonly Tensor[], opts: { lr: number; momentum?: number; weightDecay?: number }) {
    super(params, (hs) => native.sgd(hs, opts.lr, opts.momentum ?? 0, opts.weightDecay ?? 0));
  }
}

/** Scales gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  return callNative(() => native.clipGradNorm(params.map((p) => p.handle), maxNorm));
}

/**
 * A learning-rate multiplier per step (as torch's LambdaLR): linear warm-up from 0 over
 * `warmupSteps`, then constant, linear decay to `minRatio`, or cosine decay to `minRatio`.
 */
export function lrSchedule(opts: { kind: 'constant' | 'linear' | 'cosine'; warmupSteps: number; totalSteps: number; minRatio?: number }): (step: number) => number {
  const min = opts.minRatio ?? 0;
  return (step) => {
    if (step < opts.warmupSteps) return (step + 1) / Math.max(1, opts.warmupSteps);
    if (opts.kind === 'constant') return 1;
    const progress = Math.min(1, (step - opts.warmupSteps) / Math.max(1, opts.totalSteps - opts.warmupSteps));
    if (opts.kind === 'linear') return min + (1 - min) * (1 - progress);
    return min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}
