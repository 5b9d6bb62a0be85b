// GRPO (critic-free, group-normalised sequence advantages, k3 KL in the loss) and safe GRPO (the same with a cost constraint and λ).
import { batchZScore, klShapedScores, type LagrangeConfig } from '../../rl/index.js';
import type { Tensor } from '../../torch/index.js';
import { lagrangianMethod } from '../ppo-lag/method.js';
import { groupEstimator } from '../rl/estimators.js';
import { requireStream, type RlMethod, type ScoredRollout } from '../rl/method.js';
import type { GrpoConfig } from './config.js';

/**
 * GRPO as TRL defines it: the sequence reward R − costWeight·C (clamped to ±scoreClip) of each of the G
 * samples of a prompt against its group (`scaleRewards`), the same advantage on every token, no critic;
 * the KL to the reference is β·k3 in the token loss, not in the reward. With costWeight > 0 and
 * combine 'normalise-then-sum', R and C are group-normalised apart (two streams), A_R − w·A_C is z-scored over the batch.
 */
export function grpoMethod(config: GrpoConfig & { scoreClip: number }): RlMethod {
  const usesCost = config.costWeight > 0;
  const apart = usesCost && config.combine === 'normalise-then-sum';
  const end = (r: ScoredRollout, score: Tensor) => klShapedScores(score, r.kl, r.mask, 0, config.scoreClip);
  return {
    name: 'grpo',
    usesCost,
    streams: apart ? ['reward', 'cost'] : ['reward'],
    estimator: groupEstimator(apart ? 'group' : config.scaleRewards),
    ...(config.klCoef > 0 ? { lossKlCoef: config.klCoef } : {}),
    tokenScores: (r) => {
      if (usesCost && !r.cost) throw new Error('GRPO with costWeight > 0 needs cost-model scores');
      const cost = r.cost as Tensor;
      if (apart) return { reward: end(r, r.reward), cost: end(r, cost) };
      return { reward: end(r, usesCost ? r.reward.sub(cost.mul(config.costWeight)) : r.reward), cost: undefined };
    },
    actorAdvantage: (adv, mask) => {
      if (!apart) return requireStream(adv, 'reward');
      // Each row's advantage is constant over its response: read it as a (B,) sequence value, z-score over the batch.
      const perSequence = (a: Tensor) => a.sum(1).div(mask.sum(1).clamp(1));
      const sum = perSequence(requireStream(adv, 'reward')).sub(perSequence(requireStream(adv, 'cost')).mul(config.costWeight));
      return batchZScore(sum).unsqueeze(1).mul(mask);
    },
  };
}

/**
 * Safe GRPO (critic-free Safe RLHF): group-normalised reward and cost advantages combined as
 * (A_r − λ·A_c)/(1 + λ), λ learned on the episode costs against d as in PPO-Lagrangian; β·k3 in the loss.
 */
export function safeGrpoMethod(config: Pick<GrpoConfig, 'klCoef' | 'scaleRewards'> & { scoreClip: number; lagrange: LagrangeConfig }): RlMethod {
  return lagrangianMethod({
    name: 'safe_grpo',
    estimator: groupEstimator(config.scaleRewards),
    klCoef: 0,
    lossKlCoef: config.klCoef,
    scoreClip: config.scoreClip,
    lagrange: config.lagrange,
  });
}
