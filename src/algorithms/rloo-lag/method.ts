// RLOO-Lagrangian: REINFORCE with a leave-one-out baseline on reward and cost, combined by PPO-Lagrangian's λ (the optimiser HC-RLHF builds on).
import type { LagrangeConfig } from '../../rl/index.js';
import { lagrangianMethod } from '../ppo-lag/method.js';
import type { KlShapingConfig } from '../rl/config.js';
import { leaveOneOutEstimator } from '../rl/estimators.js';
import type { RlMethod } from '../rl/method.js';

/**
 * Sequence reward R − β·Σkl and cost C + β·Σkl (the KL folded into the scores, as TRL's RLOO and Safe RLHF do),
 * each against the mean of the prompt's other G − 1 samples, no critic; actor advantage (A_r − λ·A_c)/(1 + λ).
 * With ppoEpochs 1 and one mini-batch the clipped loss is plain REINFORCE (ratio 1).
 */
export function rlooLagMethod(config: KlShapingConfig & { lagrange: LagrangeConfig }): RlMethod {
  return lagrangianMethod({ ...config, name: 'rloo_lag', estimator: leaveOneOutEstimator, lossKlCoef: 0 });
}
