// What a PPO-family method declares: which score streams it optimises, its critics, and how advantages combine.
import type { Tensor } from '../../torch/index.js';
import type { TrainingState } from '../common/checkpoint.js';

/** A score stream: 'reward' (helpfulness, maximised) or 'cost' (harm, kept under a threshold). */
export type StreamName = 'reward' | 'cost';

/** A rollout after scoring, as methods see it. All token tensors are (B, T) over the response. */
export interface ScoredRollout {
  /** Response mask (B, T) float 0/1. */
  mask: Tensor;
  /** Per-token log π_θ - log π_ref of the generated tokens (B, T). */
  kl: Tensor;
  /** Reward model end scores (B,). */
  reward: Tensor;
  /** Cost model end scores (B,), when the method uses a cost model. */
  cost: Tensor | null;
}

export interface RlMethod {
  readonly name: string;
  /** Needs the cost model to score rollouts. */
  readonly usesCost: boolean;
  /** One critic per stream, initialised from the score model of the same stream. */
  readonly streams: readonly StreamName[];
  /** Per-token scores of each stream (B, T), KL shaping included. */
  tokenScores(r: ScoredRollout): Record<StreamName, Tensor | undefined>;
  /** Runs once per step before the actor update (e.g. the Lagrange multiplier step); returns metrics to log. */
  beforeUpdate?(r: ScoredRollout): Record<string, number>;
  /** The actor's advantage from the per-stream advantages (B, T). */
  actorAdvantage(advantages: Record<StreamName, Tensor | undefined>): Tensor;
  /** State that must survive a resume (e.g. log λ and the cost window). */
  stateDict?(): TrainingState;
  loadStateDict?(state: TrainingState): void;
}

/** The advantage of a stream that a method declared; a missing one is a programming error. */
export function requireStream(advantages: Record<StreamName, Tensor | undefined>, name: StreamName): Tensor {
  const a = advantages[name];
  if (!a) throw new Error(`stream '${name}' has no advantages; the method must list it in 'streams'`);
  return a;
}
