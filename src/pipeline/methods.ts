// The methods `pipeline --methods` adds to the default run (SFT, PPO, shaping sweep, PPO-Lagrangian, rounds): one list, one builder each.
import { grpoMethod, safeGrpoMethod } from '../algorithms/grpo/method.js';
import type { LagrangeConfig } from '../rl/index.js';
import type { RlMethod } from '../algorithms/rl/method.js';
import { rlooLagMethod } from '../algorithms/rloo-lag/method.js';
import type { PipelineConfig } from './config.js';

/** Every method `--methods` accepts, in the order they run. Extend here (and give it a builder below or its own stage). */
export const PIPELINE_METHODS = ['grpo', 'safe_grpo', 'rloo_lag'] as const;
export type PipelineMethod = (typeof PIPELINE_METHODS)[number];

/** What an online RL method is built from: the run's config and PPO-Lagrangian's Lagrange settings with the run's d. */
type RlBuilder = (config: PipelineConfig, lagrange: LagrangeConfig) => RlMethod;

/** The online RL methods of the list: each runs through trainRl like PPO-Lagrangian, with the same threshold d. */
export const RL_PIPELINE_METHODS: Partial<Record<PipelineMethod, RlBuilder>> = {
  grpo: (c) => grpoMethod({ ...c.grpo, scoreClip: c.rl.scoreClip }),
  safe_grpo: (c, lagrange) => safeGrpoMethod({ klCoef: c.grpo.klCoef, scaleRewards: c.grpo.scaleRewards, scoreClip: c.rl.scoreClip, lagrange }),
  rloo_lag: (c, lagrange) => rlooLagMethod({ klCoef: c.rlooLag.klCoef, scoreClip: c.rl.scoreClip, lagrange }),
};
