// Advantage estimation phase: the method's token scores, then its estimator per stream (GAE with a critic, or a group baseline); the actor's advantage.
import { whitenAdvantages } from '../../rl/index.js';
import type { Tensor } from '../../torch/index.js';
import type { RlConfig } from './config.js';
import type { RlMethod, ScoredRollout, StreamName } from './method.js';

/** Per stream the method declares, (B, T) tensors. */
export interface StreamAdvantages {
  /** The method's per-token scores (KL shaping included). */
  tokenScores: Record<StreamName, Tensor | undefined>;
  /** The estimator's advantages, 0 outside the mask. */
  advantages: Record<StreamName, Tensor | undefined>;
  /** GAE returns (advantages + values), the critics' targets; only streams with a critic. */
  returns: Partial<Record<StreamName, Tensor>>;
}

/** Token scores from the method, then its estimator per stream (against that stream's critic values (B, T) when it uses critics). */
export function estimateAdvantages(
  method: RlMethod,
  rollout: ScoredRollout,
  values: Partial<Record<StreamName, Tensor>>,
  config: Pick<RlConfig, 'gamma' | 'gaeLambda' | 'samplesPerPrompt'>,
): StreamAdvantages {
  const tokenScores = method.tokenScores(rollout);
  const advantages = {} as Record<StreamName, Tensor | undefined>;
  const returns: Partial<Record<StreamName, Tensor>> = {};
  for (const s of method.streams) {
    const e = method.estimator.estimate({ tokenScores: tokenScores[s] as Tensor, values: values[s], mask: rollout.mask, config });
    advantages[s] = e.advantages;
    if (e.returns) returns[s] = e.returns;
  }
  return { tokenScores, advantages, returns };
}

/**
 * The actor's advantage (B, T): the method's combination of stream advantages (`combined`), whitened over
 * the mask if asked and the method's estimator whitens, then clipped to ±clip when given (PPO-max) (`advantages`).
 */
export function actorAdvantages(
  method: RlMethod,
  advantages: Record<StreamName, Tensor | undefined>,
  mask: Tensor,
  whiten: boolean,
  clip: number | null = null,
): { combined: Tensor; advantages: Tensor } {
  const combined = method.actorAdvantage(advantages, mask);
  const whitened = whiten && method.estimator.whitens ? whitenAdvantages(combined, mask) : combined;
  return { combined, advantages: clip === null ? whitened : whitened.clamp(-clip, clip) };
}
