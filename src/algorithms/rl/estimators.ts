// Advantage estimators a method picks: GAE against a critic per stream, or a critic-free baseline over the G samples of a prompt (or the pair of P3O).
import { gae, groupAdvantages, leaveOneOutAdvantages, type GroupScale } from '../../rl/index.js';
import type { Tensor } from '../../torch/index.js';
import type { RlConfig } from './config.js';

/** What an estimator sees of one stream. All (B, T) over the response; rows [g·G, (g+1)·G) answer one prompt. */
export interface EstimatorInput {
  /** The method's per-token scores of the stream (KL shaping included). */
  tokenScores: Tensor;
  /** The stream critic's values at rollout time; present only for estimators that use a critic. */
  values: Tensor | undefined;
  mask: Tensor;
  config: Pick<RlConfig, 'gamma' | 'gaeLambda' | 'samplesPerPrompt'>;
}

export interface AdvantageEstimator {
  readonly name: 'gae' | 'group' | 'leave-one-out' | 'pairwise';
  /** The only rl.samplesPerPrompt it works with (2 for pairs); omitted = any G (>= 2 when critic-free). */
  readonly groupSize?: number;
  /** One critic per stream, trained alongside the actor (GAE); critic-free estimators build and train none. */
  readonly usesCritic: boolean;
  /** rl.whitenAdvantages applies (GAE); the group baselines are already centred per prompt, so whitening is skipped. */
  readonly whitens: boolean;
  /** Advantages (B, T), 0 outside the mask, and the critic's targets (B, T) when it uses one. */
  estimate(input: EstimatorInput): { advantages: Tensor; returns?: Tensor };
}

/** GAE (γ = rl.gamma, λ = rl.gaeLambda) against the stream's critic; returns = advantages + values. */
export const gaeEstimator: AdvantageEstimator = {
  name: 'gae',
  usesCritic: true,
  whitens: true,
  estimate: ({ tokenScores, values, mask, config }) => {
    if (!values) throw new Error('the GAE estimator needs critic values');
    return gae(tokenScores, values, mask, config.gamma, config.gaeLambda);
  },
};

/** The sequence score (sum of token scores) of each row, (B,). */
const sequenceScores = (tokenScores: Tensor, mask: Tensor) => tokenScores.mul(mask).sum(1);

/** GRPO: each response's sequence score against its prompt group's mean, scaled by `scale`; the same advantage on every token. */
export function groupEstimator(scale: GroupScale): AdvantageEstimator {
  return {
    name: 'group',
    usesCritic: false,
    whitens: false,
    estimate: ({ tokenScores, mask, config }) => ({ advantages: groupAdvantages(sequenceScores(tokenScores, mask), config.samplesPerPrompt, scale).unsqueeze(1).mul(mask) }),
  };
}

/** RLOO: each response's sequence score minus the mean of the other G - 1 responses to its prompt; the same advantage on every token. */
export const leaveOneOutEstimator: AdvantageEstimator = {
  name: 'leave-one-out',
  usesCritic: false,
  whitens: false,
  estimate: ({ tokenScores, mask, config }) => ({ advantages: leaveOneOutAdvantages(sequenceScores(tokenScores, mask), config.samplesPerPrompt).unsqueeze(1).mul(mask) }),
};

/**
 * P3O: two samples per prompt, each response's sequence score minus its partner's, r̃_1 − r̃_2 and r̃_2 − r̃_1
 * (the leave-one-out advantage of G = 2), on every token; a shift of the scores common to both cancels.
 */
export const pairwiseEstimator: AdvantageEstimator = {
  name: 'pairwise',
  groupSize: 2,
  usesCritic: false,
  whitens: false,
  estimate: ({ tokenScores, mask }) => ({ advantages: leaveOneOutAdvantages(sequenceScores(tokenScores, mask), 2).unsqueeze(1).mul(mask) }),
};
