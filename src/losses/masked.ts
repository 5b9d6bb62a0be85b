// Masked reductions shared by token-level losses: means over response tokens only, over the batch or per sequence.
import type { Tensor } from '../torch/index.js';

/** Mean of `x` over positions where `mask` is 1 (all tokens of the batch weigh the same). x, mask: (B, T); mask is float 0/1. */
export function maskedMean(x: Tensor, mask: Tensor): Tensor {
  return x.mul(mask).sum().div(mask.sum().clamp(1e-8));
}

/**
 * Mean over each sequence's masked tokens, then over the B sequences (every sequence weighs the
 * same; PKU safe-rlhf's `masked_mean`). x, mask: (B, T). A row without masked tokens counts as 0.
 */
export function maskedMeanPerSequence(x: Tensor, mask: Tensor): Tensor {
  return x.mul(mask).sum(1).div(mask.sum(1).clamp(1e-8)).mean();
}

/** How a token-level loss is averaged: 'token' over all response tokens of the batch, 'per-sequence' within each sequence, then over sequences. */
export type LossAggregation = 'token' | 'per-sequence';

/** The masked mean of each aggregation: (B, T) values and mask -> scalar. */
export const MASKED_MEANS: Record<LossAggregation, (x: Tensor, mask: Tensor) => Tensor> = {
  token: maskedMean,
  'per-sequence': maskedMeanPerSequence,
};

/** A loss with scalar metrics for logging. */
export interface LossOutput {
  loss: Tensor;
  metrics: Record<string, number>;
}
