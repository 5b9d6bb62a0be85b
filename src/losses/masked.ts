// Masked reductions shared by token-level losses: means over response tokens only.
import type { Tensor } from '../torch/index.js';

/** Mean of `x` over positions where `mask` is 1. x, mask: (B, T); mask is float 0/1. */
export function maskedMean(x: Tensor, mask: Tensor): Tensor {
  return x.mul(mask).sum().div(mask.sum().clamp(1e-8));
}

/** A loss with scalar metrics for logging. */
export interface LossOutput {
  loss: Tensor;
  metrics: Record<string, number>;
}
