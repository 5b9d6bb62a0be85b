// GRPO (critic-free, group-normalised sequence advantages, k3 KL in the loss) and safe GRPO (the same with a cost constraint and λ).
import { klShapedScores, type LagrangeConfig } from '../../rl/index.js';
import { lagrangianMethod } from '../ppo-lag/method.js';
import { groupEstimator } from '../rl/estimators.js';
import { requireStream, type RlMethod } from '../rl/method.js';
import type { GrpoConfig } from './config.js';

/**
 * GRPO as TRL defines it: the sequence reward R − costWeight·C (clamped to ±scoreClip) of each of the G
 * samples of a prompt against its group (`scaleRewards`), the same advantage on every token, no critic;
 * the KL to the reference is β·k3 in the token loss, not in the reward.
 */
export function grpoMethod(config: GrpoConfig & { scoreClip: number }): RlMethod {
  const usesCost = config.costWeight > 0;
  return {
    name: 'grpo',
    usesCost,
    streams: ['reward'],
    estimator: groupEstimator(config.scaleRewards),
    ...(config.klCoef > 0 ? { lossKlCoef: config.klCoef } : {}),
    tokenScores: (r) => {
      if (usesCost && !r.cost) throw new Error('GRPO with costWeight > 0 needs cost-model scores');
      const score = usesCost ? r.reward.sub((r.cost as NonNullable<typeof r.cost>).mul(config.costWeight)) : r.reward;
      return { reward: klShapedScores(score, r.kl, r.mask, 0, config.scoreClip), cost: undefined };
    },
    actorAdvantage: (adv) => requireStream(adv, 'reward'),
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
