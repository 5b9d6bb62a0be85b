// PPO's clipped surrogate policy loss over response tokens, with GRPO's asymmetric clip and k3 KL term as options.
import type { Tensor } from '../torch/index.js';
import { MASKED_MEANS, maskedMean, type LossAggregation, type LossOutput } from './masked.js';

/**
 * k3 estimator of KL(π_θ || π_ref) per token (Schulman 2020; GRPO, TRL):
 * `exp(log π_ref - log π_θ) - (log π_ref - log π_θ) - 1` (>= 0). logProbs, refLogProbs: (B, T) -> (B, T).
 */
export function k3Kl(logProbs: Tensor, refLogProbs: Tensor): Tensor {
  const d = refLogProbs.sub(logProbs);
  return d.exp().sub(d).sub(1);
}

/** Options of `clippedPolicyLoss`. */
export interface PolicyLossOptions {
  /** ε_low: the ratio is clipped below at 1 - ε_low. */
  clipLow: number;
  /** ε_high: the ratio is clipped above at 1 + ε_high (DAPO's clip-higher when > ε_low). */
  clipHigh: number;
  /** How the per-token loss is averaged over response tokens. */
  aggregation: LossAggregation;
  /** The length 'max-length' divides by (default: the mask's width T). */
  maxLength?: number;
  /** β·k3(π_θ, π_ref) added to every token's loss (GRPO); omitted = no KL term. refLogProbs: (B, T). */
  kl?: { refLogProbs: Tensor; coef: number };
}

/**
 * Per token `max(-A·ρ, -A·clip(ρ, 1-ε_low, 1+ε_high)) [+ β·k3]`, with ρ = exp(logπ - logπ_old), averaged by
 * `aggregation` (TRL's GRPO loss; PPO's when ε_low = ε_high and there is no KL term).
 * logProbs: (B, T) current policy (with grad); oldLogProbs, advantages, mask: (B, T).
 * Metrics are token means whatever the aggregation: clip fraction, approximate KL to π_old, and k3 to π_ref when given.
 */
export function clippedPolicyLoss(logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor, mask: Tensor, opts: PolicyLossOptions): LossOutput {
  const logRatio = logProbs.sub(oldLogProbs);
  const ratio = logRatio.exp();
  const unclipped = advantages.neg().mul(ratio);
  const clipped = advantages.neg().mul(ratio.clamp(1 - opts.clipLow, 1 + opts.clipHigh));
  let perToken = unclipped.maximum(clipped);
  const metrics: Record<string, number> = {};
  if (opts.kl) {
    const k3 = k3Kl(logProbs, opts.kl.refLogProbs);
    perToken = perToken.add(k3.mul(opts.kl.coef));
    metrics.k3 = maskedMean(k3, mask).item();
  }
  const loss = MASKED_MEANS[opts.aggregation](perToken, mask, opts.maxLength);
  const delta = ratio.sub(1);
  // |ρ - 1| > ε when symmetric, written as two disjoint comparisons so that ε_low ≠ ε_high works too.
  const outside = delta.gt(opts.clipHigh).float().add(delta.neg().gt(opts.clipLow).float());
  metrics.clipFraction = maskedMean(outside, mask).item();
  metrics.approxKl = maskedMean(logRatio.pow(2).mul(0.5), mask).item();
  return { loss, metrics };
}

/**
 * PPO: `mean_mask(max(-A·ρ, -A·clip(ρ, 1-ε, 1+ε)))` with ρ = exp(logπ - logπ_old), the mean taken by
 * `aggregation` ('token': over all response tokens of the batch; 'per-sequence': per sequence, then
 * over sequences). logProbs: (B, T) current policy (with grad); oldLogProbs, advantages, mask: (B, T).
 * The metrics (clip fraction, approximate KL) are token means whatever the aggregation.
 */
export function ppoPolicyLoss(logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor, mask: Tensor, clip = 0.2, aggregation: LossAggregation = 'token'): LossOutput {
  return clippedPolicyLoss(logProbs, oldLogProbs, advantages, mask, { clipLow: clip, clipHigh: clip, aggregation });
}
