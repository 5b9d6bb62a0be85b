// Activation functions by their Hugging Face names (transformers' ACT2FN), shared by the model families and the vision towers.
import { isGradEnabled, type Tensor } from '../torch/index.js';

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

/** GELU in place, where one exists: the same kernel and values, without a new output buffer. */
const IN_PLACE: Partial<Record<HfActivation, (x: Tensor) => Tensor>> = {
  gelu_new: (x) => x.gelu_('tanh'),
  gelu_pytorch_tanh: (x) => x.gelu_('tanh'),
  gelu: (x) => x.gelu_('none'),
};

/**
 * The activation `name` for a tensor its caller owns and reads no more (an intermediate of a forward pass): applied in place
 * when grad mode is off (inference, where no backward needs the input), else as HF_ACTIVATIONS[name].
 */
export function activationOnOwned(name: HfActivation): (x: Tensor) => Tensor {
  return (!isGradEnabled() && IN_PLACE[name]) || HF_ACTIVATIONS[name];
}
