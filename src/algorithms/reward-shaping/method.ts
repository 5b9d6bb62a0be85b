// Reward shaping baseline: PPO on the fixed trade-off R - ν·C (one critic), swept over ν.
import { klShapedScores } from '../../rl/index.js';
import { gaeEstimator } from '../rl/estimators.js';
import { requireStream, type RlMethod } from '../rl/method.js';
import type { KlShapingConfig } from '../rl/config.js';

export function rewardShapingMethod(config: KlShapingConfig & { nu: number }): RlMethod {
  return {
    name: `shaping_${config.nu}`,
    usesCost: true,
    streams: ['reward'],
    estimator: gaeEstimator,
    tokenScores: (r) => {
      if (!r.cost) throw new Error('reward shaping needs cost-model scores');
      return {
        reward: klShapedScores(r.reward.sub(r.cost.mul(config.nu)), r.kl, r.mask, -config.klCoef, config.scoreClip),
        cost: undefined,
      };
    },
    actorAdvantage: (adv) => requireStream(adv, 'reward'),
  };
}
