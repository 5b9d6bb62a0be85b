// What persists across RL steps: the models, the critics in stream order, their optimisers and the PTX data.
import { AdamW, type Tensor } from '../../torch/index.js';
import type { EncodedPair } from '../common/batching.js';
import type { RlConfig } from './config.js';
import type { RlMethod } from './method.js';
import { methodCritics, type RlModels, type StreamCritics } from './models.js';

export interface RlContext {
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
}

/** Checks the models against the method, creates the optimisers and puts the frozen models in eval mode. */
export function createRlContext(method: RlMethod, models: RlModels, config: RlConfig, ptx: EncodedPair[], padId: number): RlContext {
  const critics = methodCritics(method, models);
  const actorParams = models.actor.parameters();
  const actorOpt = new AdamW(actorParams, { lr: config.actorOptim.lr, weightDecay: config.actorOptim.weightDecay });
  const criticOpts = critics.map(([, c]) => new AdamW(c.parameters(), { lr: config.criticOptim.lr, weightDecay: config.criticOptim.weightDecay }));
  models.reference.eval();
  models.rewardModel.eval();
  models.costModel?.eval();
  return { method, models, config, critics, actorParams, actorOpt, criticOpts, ptx, padId };
}
