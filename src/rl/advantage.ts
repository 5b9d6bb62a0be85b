// Advantage post-processing: Safe RLHF's Lagrangian combination (one λ, or one per row) and masked whitening.
import { tensor, type Tensor } from '../torch/index.js';
import { maskedMean } from '../losses/masked.js';

/**
 * `(A_r - λ·A_c) / (1 + λ)`: the PPO-Lagrangian actor advantage. rewardAdv, costAdv: (B, T); lambda one number,
 * or one per row (B numbers: each row's own constraint, e.g. its harm category's λ).
 * Computed as (1 - w)·A_r - w·A_c with w = λ/(1 + λ), which stays finite for any λ (even ∞).
 */
export function combineAdvantages(rewardAdvantages: Tensor, costAdvantages: Tensor, lambda: number | readonly number[]): Tensor {
  const weight = (l: number) => {
    if (!(l >= 0)) throw new RangeError(`Lagrange multiplier must be >= 0, got ${l}`);
    return Number.isFinite(l) ? l / (1 + l) : 1;
  };
  if (typeof lambda === 'number') {
    const w = weight(lambda);
    return rewardAdvantages.mul(1 - w).sub(costAdvantages.mul(w));
  }
  if (lambda.length !== rewardAdvantages.shape[0]) throw new RangeError(`one λ per row: got ${lambda.length} for ${rewardAdvantages.shape[0]} rows`);
  const w = tensor(lambda.map(weight), { device: rewardAdvantages.device }).unsqueeze(1);
  return rewardAdvantages.mul(w.neg().add(1)).sub(costAdvantages.mul(w));
}

/** Masked whitening: (A - mean)/sqrt(var + eps) over masked positions, zero elsewhere. A, mask: (B, T). */
export function whitenAdvantages(advantages: Tensor, mask: Tensor, eps = 1e-8): Tensor {
  const mean = maskedMean(advantages, mask);
  const centered = advantages.sub(mean);
  const variance = maskedMean(centered.pow(2), mask);
  return centered.mul(variance.add(eps).rsqrt()).mul(mask);
}
