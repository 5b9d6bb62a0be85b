// The models an RL run uses: actor, frozen reference, reward/cost scorers and one critic per stream.
import type { SequenceScorer } from '../../models/index.js';
import type { CriticModel, PolicyModel, RlScorer } from './images.js';
import { criticStreams, type RlMethod, type StreamName } from './method.js';

export type { SequenceScorer };

/** The models of a run: text models, or LLaVA models (image + text prompts: every model then reads the images). */
export interface RlModels {
  actor: PolicyModel;
  /** Frozen reference (the SFT model). */
  reference: PolicyModel;
  rewardModel: RlScorer;
  costModel?: RlScorer;
  /** One critic per stream of `criticStreams(method)` (initialised from the stream's score model); none for critic-free methods. */
  critics: Partial<Record<StreamName, CriticModel>>;
}

/** The critics of the method's critic streams, in the method's order. */
export type StreamCritics = readonly (readonly [StreamName, CriticModel])[];

/** Checks that `models` has what `method` declares; returns its critics in stream order. */
export function methodCritics(method: RlMethod, models: RlModels): StreamCritics {
  const critics = criticStreams(method).map((s) => {
    const c = models.critics[s];
    if (!c) throw new Error(`${method.name}: no critic for stream '${s}'`);
    return [s, c] as const;
  });
  if (method.usesCost && !models.costModel) throw new Error(`${method.name}: needs a cost model`);
  return critics;
}
