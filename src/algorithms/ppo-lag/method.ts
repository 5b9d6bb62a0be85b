// PPO-Lagrangian (Safe RLHF): reward and cost streams with their own critics, combined by a learned λ; the same composition with other estimators.
import { combineAdvantages, klShapedScores, type LagrangeConfig } from '../../rl/index.js';
import { globalConstraint, perCategoryConstraint } from './constraints.js';
import { gaeEstimator, type AdvantageEstimator } from '../rl/estimators.js';
import { requireStream, type RlMethod } from '../rl/method.js';
import type { KlShapingConfig } from '../rl/config.js';

/** A Lagrangian method: PPO-Lagrangian's streams and λ with any estimator; `lossKlCoef` moves the KL from the scores into the loss. */
export interface LagrangianConfig extends KlShapingConfig {
  lagrange: LagrangeConfig;
  name: string;
  estimator: AdvantageEstimator;
  /** β of the k3 term in the actor loss (GRPO style); 0 = none. */
  lossKlCoef: number;
}

/**
 * KL-shaped reward (-β·KL) and cost (+β·KL) streams (β = klCoef, 0 when the KL sits in the loss), the
 * estimator on each (GAE with its critic, or a group baseline; done by the loop), one Lagrange step on the
 * episode costs per RL step (one λ, or one per prompt category with lagrange.perCategory), then the actor
 * advantage (A_r - λ·A_c)/(1 + λ) with each row's λ.
 */
export function lagrangianMethod(config: LagrangianConfig): RlMethod {
  const constraint = (config.lagrange.perCategory ? perCategoryConstraint : globalConstraint)(config.lagrange, config.name);
  return {
    name: config.name,
    usesCost: true,
    streams: ['reward', 'cost'],
    estimator: config.estimator,
    ...(config.lossKlCoef > 0 ? { lossKlCoef: config.lossKlCoef } : {}),
    tokenScores: (r) => {
      if (!r.cost) throw new Error(`${config.name} needs cost-model scores`);
      return {
        reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef, config.scoreClip),
        cost: klShapedScores(r.cost, r.kl, r.mask, config.klCoef, config.scoreClip),
      };
    },
    beforeUpdate: (r) => constraint.update(r),
    actorAdvantage: (adv) => combineAdvantages(requireStream(adv, 'reward'), requireStream(adv, 'cost'), constraint.lambdas()),
    stateDict: () => constraint.stateDict(),
    loadStateDict: (s) => constraint.loadStateDict(s),
  };
}

/** PPO-Lagrangian: the Lagrangian composition with GAE and a critic per stream, the KL in the scores. */
export function ppoLagMethod(config: KlShapingConfig & { lagrange: LagrangeConfig }): RlMethod {
  return lagrangianMethod({ ...config, name: 'ppo_lag', estimator: gaeEstimator, lossKlCoef: 0 });
}
