// Actor loss phase: the loss a method's actor minimises on one mini-batch: PPO's token-level clip, or P3O's pairwise trajectory loss.
import { clippedPolicyLoss, MASKED_MEAN_UNITS, pairwisePolicyLoss, type LossOutput, type PairwiseClip } from '../../losses/index.js';
import type { Tensor } from '../../torch/index.js';
import type { RlConfig } from './config.js';

/** What a policy loss sees of one mini-batch of b rows; all (b, T) over the response. */
export interface PolicyLossInput {
  /** log π_θ of the response tokens (with gradient). */
  logProbs: Tensor;
  oldLogProbs: Tensor;
  /** The actor's advantages, 0 outside the mask. */
  advantages: Tensor;
  mask: Tensor;
  /** log π_ref, for a k3 KL term (GRPO); given only when klCoef > 0. */
  refLogProbs?: Tensor;
}

export type PolicyLossConfig = Pick<RlConfig, 'clipRange' | 'clipRangeHigh' | 'lossAggregation' | 'maxNewTokens'>;

export interface PolicyLoss {
  readonly name: 'token-clip' | 'pairwise';
  /** Consecutive rows a mini-batch must keep together (2: the two responses of a P3O pair); rl.miniBatchSize must be a multiple. */
  readonly rowsPerGroup: number;
  /** The loss and its metrics (clipFraction at least); klCoef is the method's β of a k3 term in the loss (0 = none). */
  compute(input: PolicyLossInput, config: PolicyLossConfig, klCoef: number): LossOutput;
  /** How many units the loss is a mean over, for a mini-batch's mask (b, T): tokens or sequences (data-parallel ranks weigh their shares by it). */
  units(mask: Tensor, config: PolicyLossConfig): number;
}

/** PPO / GRPO: per-token `max(−A·ρ, −A·clip(ρ, 1 − ε_low, 1 + ε_high))` [+ β·k3], averaged by rl.lossAggregation. */
export const tokenClipLoss: PolicyLoss = {
  name: 'token-clip',
  rowsPerGroup: 1,
  compute: (input, config, klCoef) => {
    if (klCoef > 0 && !input.refLogProbs) throw new Error('a k3 KL term needs the reference log-probs of the batch');
    return clippedPolicyLoss(input.logProbs, input.oldLogProbs, input.advantages, input.mask, {
      clipLow: config.clipRange,
      clipHigh: config.clipRangeHigh ?? config.clipRange,
      aggregation: config.lossAggregation,
      maxLength: config.maxNewTokens,
      ...(klCoef > 0 ? { kl: { refLogProbs: input.refLogProbs as Tensor, coef: klCoef } } : {}),
    });
  },
  units: (mask, config) => MASKED_MEAN_UNITS[config.lossAggregation](mask),
};

/**
 * P3O (Wu et al. 2023): trajectory-wise ratios of the two responses of each prompt (rows 2k, 2k+1), clipped at
 * rl.clipRange separately or jointly; the advantage of a row is read as its per-token mean (it is the same on
 * every token: r̃_i − r̃_partner from the pairwise estimator). No k3 term: P3O folds the KL into the reward.
 */
export function pairwiseLoss(variant: PairwiseClip): PolicyLoss {
  return {
    name: 'pairwise',
    rowsPerGroup: 2,
    compute: (input, config, klCoef) => {
      if (klCoef > 0) throw new Error('P3O folds the KL into the reward; it has no k3 term in the loss');
      const sequenceAdvantages = input.advantages.mul(input.mask).sum(1).div(input.mask.sum(1).clamp(1));
      return pairwisePolicyLoss(input.logProbs, input.oldLogProbs, sequenceAdvantages, input.mask, config.clipRange, variant);
    },
    // a mean over pairs: as many as rows / 2
    units: (mask) => mask.shape[0] as number,
  };
}
