// PPO on the reward model alone (the RLHF baseline): KL-shaped reward, one critic.
import { klShapedScores } from '../../rl/index.js';
import { gaeEstimator } from '../rl/estimators.js';
import { requireStream, type RlMethod } from '../rl/method.js';
import type { KlShapingConfig } from '../rl/config.js';

export function ppoMethod(config: KlShapingConfig): RlMethod {
  return {
    name: 'ppo',
    usesCost: false,
    streams: ['reward'],
    estimator: gaeEstimator,
    tokenScores: (r) => ({
      reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef, config.scoreClip),
      cost: undefined,
    }),
    actorAdvantage: (adv) => requireStream(adv, 'reward'),
  };
}
