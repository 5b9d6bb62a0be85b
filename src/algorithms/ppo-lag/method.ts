// PPO-Lagrangian (Safe RLHF): reward and cost streams with their own critics, combined by a learned λ.
import { combineAdvantages, klShapedScores, LagrangeMultiplier, type LagrangeConfig, type LagrangeState } from '../../rl/index.js';
import type { TrainingState } from '../common/checkpoint.js';
import { requireStream, type RlMethod } from '../rl/method.js';
import type { KlShapingConfig } from '../rl/config.js';

/**
 * Composition of the shared pieces: KL-shaped reward (-β·KL) and cost (+β·KL) streams, GAE on
 * each with its critic (done by the loop), one Lagrange step on the episode costs per RL step,
 * then the actor advantage (A_r - λ·A_c)/(1 + λ).
 */
export function ppoLagMethod(config: KlShapingConfig & { lagrange: LagrangeConfig }): RlMethod {
  const multiplier = new LagrangeMultiplier(config.lagrange);
  let lambda = multiplier.lambda;
  return {
    name: 'ppo_lag',
    usesCost: true,
    streams: ['reward', 'cost'],
    tokenScores: (r) => {
      if (!r.cost) throw new Error('PPO-Lagrangian needs cost-model scores');
      return {
        reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef, config.scoreClip),
        cost: klShapedScores(r.cost, r.kl, r.mask, config.klCoef, config.scoreClip),
      };
    },
    beforeUpdate: (r) => {
      const out = multiplier.update((r.cost as NonNullable<typeof r.cost>).toNumbers());
      lambda = out.lambda;
      return { lambda: out.lambda, jc: out.jc, lambdaLoss: out.lambdaLoss };
    },
    actorAdvantage: (adv) => combineAdvantages(requireStream(adv, 'reward'), requireStream(adv, 'cost'), lambda),
    stateDict: () => multiplier.stateDict() as unknown as TrainingState,
    loadStateDict: (s) => {
      multiplier.loadStateDict(s as unknown as LagrangeState);
      lambda = multiplier.lambda;
    },
  };
}
