// P3O — Pairwise PPO (Wu et al. 2023): two responses per prompt, the KL-folded reward difference, trajectory-wise clipped ratios; no critic.
import { klShapedScores } from '../../rl/index.js';
import { pairwiseEstimator } from '../rl/estimators.js';
import { requireStream, type RlMethod } from '../rl/method.js';
import { pairwiseLoss } from '../rl/policy-loss.js';
import type { P3oConfig } from './config.js';

/**
 * Sequence reward r̃ = R − β·Σkl (R clamped to ±scoreClip; the KL folded into the reward as the paper does),
 * advantage r̃_i − r̃_partner over the two samples of a prompt (rl.samplesPerPrompt 2), the pairwise clipped
 * loss on trajectory ratios (`clip` 'separate' | 'joint'). A shift of the reward model cancels in the difference.
 */
export function p3oMethod(config: P3oConfig & { scoreClip: number }): RlMethod {
  return {
    name: 'p3o',
    usesCost: false,
    streams: ['reward'],
    estimator: pairwiseEstimator,
    policyLoss: pairwiseLoss(config.clip),
    tokenScores: (r) => ({ reward: klShapedScores(r.reward, r.kl, r.mask, -config.klCoef, config.scoreClip), cost: undefined }),
    actorAdvantage: (adv) => requireStream(adv, 'reward'),
  };
}
