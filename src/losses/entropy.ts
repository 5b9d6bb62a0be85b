// The entropy bonus (PPO-max, OpenAI's PPO): −α·H(π_θ) over response tokens, H from the whole token distribution.
import type { Tensor } from '../torch/index.js';
import { MASKED_MEANS, maskedMean, type LossAggregation, type LossOutput } from './masked.js';

/** Entropy of each position's next-token distribution: −Σ_v softmax(logits)·logSoftmax(logits). logits: (B, T, V) -> (B, T). */
export function tokenEntropy(logits: Tensor): Tensor {
  const logP = logits.logSoftmax(2);
  return logP.exp().mul(logP).sum(2).neg();
}

/**
 * The entropy bonus as a loss to add to the actor's: `−coef · mean_mask(H)`, the mean taken by `aggregation`
 * (the actor loss's own, so a token weighs the same in both). entropy: (B, T) H of each response position's
 * distribution (`tokenEntropy` of its logits, with gradient); mask: (B, T). Metric `entropy`: the token mean of H whatever the aggregation.
 */
export function entropyBonus(entropy: Tensor, mask: Tensor, coef: number, aggregation: LossAggregation, maxLength?: number): LossOutput {
  return { loss: MASKED_MEANS[aggregation](entropy, mask, maxLength).mul(-coef), metrics: { entropy: maskedMean(entropy, mask).item() } };
}
