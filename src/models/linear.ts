// The linear projections of both HF layouts (GPT-2 Conv1D: weight (in, out); nn.Linear: weight (out, in)), optionally carrying a LoRA adapter.
import { chain, dropout, linear, noGrad, tidy, zeros, type Tensor } from '../torch/index.js';
import { Module } from './module.js';
import { normal, uniform } from './param-init.js';

/** How the weight is stored: GPT-2's Conv1D keeps (in, out) (peft's `fan_in_fan_out`), nn.Linear keeps (out, in). */
export type WeightLayout = 'in-out' | 'out-in';

/** One adapter's shape: rank r, scale alpha / r, dropout on the adapter's input. */
export interface LoraSettings {
  r: number;
  alpha: number;
  dropout: number;
}

/** A bias-free nn.Linear holding one adapter matrix (peft's `lora_A` (r, in) or `lora_B` (out, r)); its parameter is `weight`. */
class AdapterMatrix extends Module {
  readonly weight: Tensor;
  constructor(weight: Tensor) {
    super();
    this.weight = this.param('weight', weight);
  }
}

interface Adapter {
  a: AdapterMatrix;
  b: AdapterMatrix;
  scale: number;
  dropout: number;
}

/**
 * x·W + b for W stored (in, out): libtorch's linear on Wᵀ, which multiplies by W itself and adds the bias inside the matrix
 * product (addmm) for a contiguous 2-D or 3-D x, one pass fewer over the output than a matmul and an add.
 */
function linearInOut(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const transposed = weight.transpose(0, 1);
  const out = linear(x, transposed, bias);
  transposed.dispose();
  return out;
}

/**
 * y = x·W + b (in-out) or x·Wᵀ + b (out-in), plus, with an adapter, (alpha/r)·dropout(x)·Aᵀ·Bᵀ
 * (peft's LoRA forward). x: (..., in) -> (..., out).
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  private adapter: Adapter | null = null;

  constructor(
    readonly nIn: number,
    readonly nOut: number,
    readonly layout: WeightLayout,
    opts: { bias: boolean; std: number },
  ) {
    super();
    const shape = layout === 'in-out' ? [nIn, nOut] : [nOut, nIn];
    this.weight = this.param('weight', normal(shape, opts.std));
    this.bias = opts.bias ? this.param('bias', zeros([nOut])) : null;
  }

  get hasLora(): boolean {
    return this.adapter !== null;
  }

  /** x: (..., in) -> (..., out) */
  forward(x: Tensor): Tensor {
    const base = this.layout === 'in-out' ? linearInOut(x, this.weight, this.bias) : linear(x, this.weight, this.bias);
    const ad = this.adapter;
    if (!ad) return base;
    const delta = chain(
      x,
      (t) => (ad.dropout > 0 ? dropout(t, ad.dropout, this.training) : t),
      (t) => linear(t, ad.a.weight),
      (t) => linear(t, ad.b.weight),
      (t) => t.mul(ad.scale),
    );
    const out = base.add(delta);
    base.dispose();
    delta.dispose();
    return out;
  }

  /**
   * Adds a LoRA adapter as peft initialises it: A (r, in) ~ U(±1/√in) (kaiming_uniform, a=√5),
   * B (out, r) = 0, so the model's output is unchanged until B is trained.
   */
  attachLora(s: LoraSettings): void {
    if (this.adapter) throw new Error('this projection already has a LoRA adapter; merge it first');
    const bound = 1 / Math.sqrt(this.nIn);
    const device = this.weight.device; // beside the weight it adapts, wherever the model was put
    const a = this.child('lora_A', new AdapterMatrix(uniform([s.r, this.nIn], bound, device)));
    const b = this.child('lora_B', new AdapterMatrix(zeros([this.nOut, s.r], { device })));
    a.training = b.training = this.training;
    this.adapter = { a, b, scale: s.alpha / s.r, dropout: s.dropout };
  }

  /** Folds the adapter into the weight (W += scale·B·A, transposed for in-out) and removes it. */
  mergeLora(): void {
    const ad = this.adapter;
    if (!ad) return;
    noGrad(() =>
      tidy(() => {
        const delta = ad.b.weight.matmul(ad.a.weight).mul(ad.scale); // (out, in)
        this.weight.copy_(this.weight.add(this.layout === 'in-out' ? delta.transpose(0, 1) : delta));
      }),
    );
    ad.a.weight.dispose();
    ad.b.weight.dispose();
    this.removeChild('lora_A');
    this.removeChild('lora_B');
    this.adapter = null;
  }
}
