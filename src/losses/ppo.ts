// PPO's clipped surrogate policy loss over response tokens.
import type { Tensor } from '../torch/index.js';
import { MASKED_MEANS, maskedMean, type LossAggregation, type LossOutput } from './masked.js';

/**
 * `mean_mask(max(-A·ρ, -A·clip(ρ, 1-ε, 1+ε)))` with ρ = exp(logπ - logπ_old), the mean taken by
 * `aggregation` ('token': over all response tokens of the batch; 'per-sequence': per sequence, then
 * over sequences). logProbs: (B, T) current policy (with grad); oldLogProbs, advantages, mask: (B, T).
 * The metrics (clip fraction, approximate KL) are token means whatever the aggregation.
 */
export function ppoPolicyLoss(logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor, mask: Tensor, clip = 0.2, aggregation: LossAggregation = 'token'): LossOutput {
  const logRatio = logProbs.sub(oldLogProbs);
  const ratio = logRatio.exp();
  const unclipped = advantages.neg().mul(ratio);
  const clipped = advantages.neg().mul(ratio.clamp(1 - clip, 1 + clip));
  const loss = MASKED_MEANS[aggregation](unclipped.maximum(clipped), mask);
  return {
    loss,
    metrics: {
      clipFraction: maskedMean(ratio.sub(1).abs().gt(clip).float(), mask).item(),
      approxKl: maskedMean(logRatio.pow(2).mul(0.5), mask).item(),
    },
  };
}
