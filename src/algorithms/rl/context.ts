// What persists across RL steps: the models, the critics in stream order, their optimisers and the PTX data.
import { ConfigError } from '../../config/schema-cli.js';
import { dataParallel, type DataParallel } from '../../distributed/data-parallel.js';
import { AdamW, type Tensor } from '../../torch/index.js';
import type { EncodedPair } from '../common/batching.js';
import { readsImages, TowerSharing } from './images.js';
import { optimSchedule } from '../common/training-run.js';
import type { RlConfig } from './config.js';
import type { RlMethod } from './method.js';
import { methodCritics, type RlModels, type StreamCritics } from './models.js';
import { createScoreNormalizers, type ScoreNormalizers } from './score-normalization.js';

export interface RlContext {
  /** The data-parallel job (one process unless started by `safealign launch` or torchrun). */
  job: DataParallel;
  method: RlMethod;
  models: RlModels;
  config: RlConfig;
  critics: StreamCritics;
  actorParams: Tensor[];
  actorOpt: AdamW;
  /** One optimiser per critic, in `critics` order. */
  criticOpts: AdamW[];
  /** Tokenised SFT examples for the PTX loss (may be empty). */
  ptx: EncodedPair[];
  padId: number;
  /** PPO-max's running reward/cost normalisers (pass-through when off). */
  normalizers: ScoreNormalizers;
  /** Which models' frozen vision towers are one (image prompts: their states are computed once per rollout). */
  towers: TowerSharing;
}

/** Sets the actor's and critics' learning rates for 0-based RL step `step` from their optimiser sections' schedules. */
export function setLearningRates(ctx: RlContext, step: number): void {
  const { actorOptim, criticOptim, steps } = ctx.config;
  ctx.actorOpt.lr = actorOptim.lr * optimSchedule(actorOptim, steps)(step);
  const criticLr = criticOptim.lr * optimSchedule(criticOptim, steps)(step);
  for (const o of ctx.criticOpts) o.lr = criticLr;
}

/** Checks the models against the method, creates the optimisers and puts the frozen models in eval mode. */
export function createRlContext(method: RlMethod, models: RlModels, config: RlConfig, ptx: EncodedPair[], padId: number): RlContext {
  if (!method.estimator.usesCritic && config.samplesPerPrompt < 2) {
    throw new ConfigError(`${method.name} compares the samples of a prompt with each other (its ${method.estimator.name} baseline): set rl.samplesPerPrompt (--rl-samples-per-prompt) to 2 or more, e.g. 4 (got ${config.samplesPerPrompt})`);
  }
  const groupSize = method.estimator.groupSize;
  if (groupSize !== undefined && config.samplesPerPrompt !== groupSize) {
    throw new ConfigError(`${method.name} compares exactly ${groupSize} responses per prompt (its ${method.estimator.name} estimator): set rl.samplesPerPrompt (--rl-samples-per-prompt) to ${groupSize} (got ${config.samplesPerPrompt})`);
  }
  const rowsPerGroup = method.policyLoss?.rowsPerGroup ?? 1;
  if (config.miniBatchSize % rowsPerGroup !== 0) {
    throw new ConfigError(`${method.name}'s loss needs the ${rowsPerGroup} responses of a prompt in one mini-batch: set rl.miniBatchSize (--rl-mini-batch-size) to a multiple of ${rowsPerGroup} (got ${config.miniBatchSize})`);
  }
  if (config.criticWarmupSteps > 0 && !method.estimator.usesCritic) {
    throw new ConfigError(`${method.name} has no critic to warm up: set rl.criticWarmupSteps (--rl-critic-warmup-steps) to 0 (got ${config.criticWarmupSteps})`);
  }
  const critics = methodCritics(method, models);
  // the frozen models' towers never learn; the actor's and critics' only when asked (before the optimisers see their parameters)
  const learners = [models.actor, ...critics.map(([, c]) => c)];
  for (const m of [models.reference, models.rewardModel, models.costModel, ...learners]) {
    if (readsImages(m) && (config.freezeVisionTower || !learners.includes(m))) m.freezeVisionTower();
  }
  const actorParams = models.actor.trainableParameters();
  const actorOpt = new AdamW(actorParams, { lr: config.actorOptim.lr, weightDecay: config.actorOptim.weightDecay });
  const criticOpts = critics.map(([, c]) => new AdamW(c.trainableParameters(), { lr: config.criticOptim.lr, weightDecay: config.criticOptim.weightDecay }));
  models.reference.eval();
  models.rewardModel.eval();
  models.costModel?.eval();
  return { job: dataParallel(), method, models, config, critics, actorParams, actorOpt, criticOpts, ptx, padId, normalizers: createScoreNormalizers(config), towers: new TowerSharing([models.actor, models.reference, models.rewardModel, models.costModel, ...critics.map(([, c]) => c)]) };
}
