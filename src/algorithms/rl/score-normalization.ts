// PPO-max's score normalisation phase: end rewards (affine) and costs (scale-only) normalised by running statistics and clipped, before the method sees them.
import { RunningNormalizer, type NormalizerState } from '../../rl/index.js';
import { tensor, type Tensor } from '../../torch/index.js';
import type { TrainingState } from '../common/checkpoint.js';
import type { RlConfig } from './config.js';
import type { ScoredRollout } from './method.js';

/** The running normalisers of a run (state saved with every checkpoint). */
export interface ScoreNormalizers {
  /** The rollout with its end scores normalised (the same object when both kinds are 'none'). */
  apply(view: ScoredRollout): ScoredRollout;
  stateDict(): TrainingState;
  loadStateDict(state: TrainingState): void;
}

/**
 * rl.rewardNormalization / rl.costNormalization: each step's end scores (B,) are merged into the running mean and
 * (population) variance of every score seen so far, then normalised, `(r − μ)/σ` (affine) or `c/σ` (scale: the sign
 * of a cost survives), and clipped to ±rl.normalizedScoreClip when set (MOSS-RLHF's reward normalisation and clip).
 */
export function createScoreNormalizers(config: Pick<RlConfig, 'rewardNormalization' | 'costNormalization' | 'normalizedScoreClip'>): ScoreNormalizers {
  const reward = new RunningNormalizer(config.rewardNormalization, config.normalizedScoreClip);
  const cost = new RunningNormalizer(config.costNormalization, config.normalizedScoreClip);
  const normalise = (n: RunningNormalizer, scores: Tensor): Tensor => {
    const xs = scores.toNumbers();
    n.update(xs);
    return tensor(xs.map((x) => n.normalize(x)), { device: scores.device });
  };
  return {
    apply: (view) => {
      if (reward.kind === 'none' && cost.kind === 'none') return view;
      return {
        ...view,
        reward: reward.kind === 'none' ? view.reward : normalise(reward, view.reward),
        cost: view.cost && cost.kind !== 'none' ? normalise(cost, view.cost) : view.cost,
      };
    },
    stateDict: () => ({ reward: { ...reward.stateDict() }, cost: { ...cost.stateDict() } }),
    loadStateDict: (s) => {
      const state = s as unknown as { reward: NormalizerState; cost: NormalizerState };
      reward.loadStateDict(state.reward);
      cost.loadStateDict(state.cost);
    },
  };
}
