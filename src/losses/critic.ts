// Clipped value-function loss for PPO critics.
import type { Tensor } from '../torch/index.js';
import { MASKED_MEANS, maskedMean, type LossAggregation, type LossOutput } from './masked.js';

/**
 * `0.5 · mean_mask(max((V - R)², (V_old + clip(V - V_old, ±c) - R)²))`, the mean taken by
 * `aggregation` ('token' or 'per-sequence', as in ppoPolicyLoss).
 * values: (B, T) with grad; oldValues, returns, mask: (B, T); c = 5 by default.
 */
export function criticLoss(values: Tensor, oldValues: Tensor, returns: Tensor, mask: Tensor, clip = 5, aggregation: LossAggregation = 'token'): LossOutput {
  const clippedValues = oldValues.add(values.sub(oldValues).clamp(-clip, clip));
  const loss = MASKED_MEANS[aggregation](values.sub(returns).pow(2).maximum(clippedValues.sub(returns).pow(2)), mask).mul(0.5);
  return { loss, metrics: { valueMean: maskedMean(values, mask).item() } };
}
