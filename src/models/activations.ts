// Activation functions by their Hugging Face names (transformers' ACT2FN), shared by the model families and the vision towers.
import type { Tensor } from '../torch/index.js';

export const HF_ACTIVATIONS = {
  gelu_new: (x: Tensor) => x.gelu('tanh'),
  gelu_pytorch_tanh: (x: Tensor) => x.gelu('tanh'),
  gelu: (x: Tensor) => x.gelu('none'),
  relu: (x: Tensor) => x.relu(),
  silu: (x: Tensor) => x.silu(),
  /** CLIP's x·σ(1.702x). */
  quick_gelu: (x: Tensor) => {
    const gate = x.mul(1.702).sigmoid();
    const out = x.mul(gate);
    gate.dispose();
    return out;
  },
} satisfies Record<string, (x: Tensor) => Tensor>;

export type HfActivation = keyof typeof HF_ACTIVATIONS;
