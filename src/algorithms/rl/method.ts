// What an RL method declares: which score streams it optimises, how their advantages are estimated (critics or groups) and combined.
import type { Tensor } from '../../torch/index.js';
import type { TrainingState } from '../common/checkpoint.js';
import type { AdvantageEstimator } from './estimators.js';
import type { PolicyLoss } from './policy-loss.js';

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
  /** Each row's prompt category (B), for per-category constraints; absent = every row ''. */
  categories?: readonly string[];
}

export interface RlMethod {
  readonly name: string;
  /** Needs the cost model to score rollouts. */
  readonly usesCost: boolean;
  /** The score streams it optimises; with a critic-based estimator, one critic each, initialised from the stream's score model. */
  readonly streams: readonly StreamName[];
  /** How each stream's advantages are estimated: GAE with critics, or a critic-free group baseline (needs rl.samplesPerPrompt >= 2). */
  readonly estimator: AdvantageEstimator;
  /** β of the k3 KL to the reference added to the actor's token loss (GRPO); omitted or 0 = none (PPO puts the KL into the scores). */
  readonly lossKlCoef?: number;
  /** The actor's loss; omitted = PPO's token-level clipped loss (P3O gives its pairwise trajectory loss). */
  readonly policyLoss?: PolicyLoss;
  /** Per-token scores of each stream (B, T), KL shaping included. */
  tokenScores(r: ScoredRollout): Record<StreamName, Tensor | undefined>;
  /** Runs once per step before the actor update (e.g. the Lagrange multiplier step); returns metrics to log. */
  beforeUpdate?(r: ScoredRollout): Record<string, number>;
  /** The actor's advantage from the per-stream advantages (B, T); mask (B, T) is the response mask. */
  actorAdvantage(advantages: Record<StreamName, Tensor | undefined>, mask: Tensor): Tensor;
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

/** The streams that get a critic: all of the method's streams under a critic-based estimator, none otherwise. */
export function criticStreams(method: RlMethod): readonly StreamName[] {
  return method.estimator.usesCritic ? method.streams : [];
}
