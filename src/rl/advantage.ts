// Advantage post-processing: Safe RLHF's Lagrangian combination and masked whitening.
import type { Tensor } from '../torch/index.js';
import { maskedMean } from '../losses/masked.js';

/**
 * `(A_r - λ·A_c) / (1 + λ)`: the PPO-Lagrangian actor advantage. rewardAdv, costAdv: (B, T).
 * Computed as (1 - w)·A_r - w·A_c with w = λ/(1 + λ), which stays finite for any λ (even ∞).
 */
export function combineAdvantages(rewardAdvantages: Tensor, costAdvantages: Tensor, lambda: number): Tensor {
  if (!(lambda >= 0)) throw new RangeError(`Lagrange multiplier must be >= 0, got ${lambda}`);
  const w = Number.isFinite(lambda) ? lambda / (1 + lambda) : 1;
  return rewardAdvantages.mul(1 - w).sub(costAdvantages.mul(w));
}

/** Masked whitening: (A - mean)/sqrt(var + eps) over masked positions, zero elsewhere. A, mask: (B, T). */
export function whitenAdvantages(advantages: Tensor, mask: Tensor, eps = 1e-8): Tensor {
  const mean = maskedMean(advantages, mask);
  const centered = advantages.sub(mean);
  const variance = maskedMean(centered.pow(2), mask);
  return centered.mul(variance.add(eps).rsqrt()).mul(mask);
}
