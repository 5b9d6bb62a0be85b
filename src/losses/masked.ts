// Masked reductions shared by token-level losses: means over response tokens only, over the batch, per sequence or per fixed length.
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

/**
 * Sum over masked tokens divided by B·maxLength (Dr. GRPO, TRL's `dr_grpo`: a constant normaliser, so
 * neither the response length nor the batch's token count rescales a token's gradient).
 * x, mask: (B, T); maxLength defaults to T (the loop passes rl.maxNewTokens).
 */
export function maskedSumPerMaxLength(x: Tensor, mask: Tensor, maxLength?: number): Tensor {
  const [b, t] = mask.shape as [number, number];
  return x.mul(mask).sum().div(b * (maxLength ?? t));
}

/**
 * How a token-level loss is averaged: 'token' over all response tokens of the batch (TRL's `bnpo`/`dapo`),
 * 'per-sequence' within each sequence, then over sequences (TRL's `grpo`), 'max-length' summed and divided
 * by B·maxLength (TRL's `dr_grpo`).
 */
export type LossAggregation = 'token' | 'per-sequence' | 'max-length';

/** The masked mean of each aggregation: (B, T) values and mask -> scalar; `maxLength` is used by 'max-length' only. */
export const MASKED_MEANS: Record<LossAggregation, (x: Tensor, mask: Tensor, maxLength?: number) => Tensor> = {
  token: maskedMean,
  'per-sequence': maskedMeanPerSequence,
  'max-length': maskedSumPerMaxLength,
};

/**
 * How many units each aggregation's mean is over: response tokens ('token') or sequences ('per-sequence',
 * 'max-length', whose normaliser B·maxLength is proportional to B). Ranks of a data-parallel job weigh their
 * shares of a batch by it, so that their combined gradient is that of the whole batch's mean. mask: (B, T).
 */
export const MASKED_MEAN_UNITS: Record<LossAggregation, (mask: Tensor) => number> = {
  token: (mask) => mask.sum().item(),
  'per-sequence': (mask) => mask.shape[0] as number,
  'max-length': (mask) => mask.shape[0] as number,
};

/** A loss with scalar metrics for logging. */
export interface LossOutput {
  loss: Tensor;
  metrics: Record<string, number>;
}
