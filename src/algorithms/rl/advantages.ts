// Advantage estimation phase: the method's token scores, then GAE with each stream's critic; the actor's advantage.
import { gae, whitenAdvantages } from '../../rl/index.js';
import type { Tensor } from '../../torch/index.js';
import type { RlConfig } from './config.js';
import type { RlMethod, ScoredRollout, StreamName } from './method.js';

/** Per stream the method declares, (B, T) tensors. */
export interface StreamAdvantages {
  /** The method's per-token scores (KL shaping included). */
  tokenScores: Record<StreamName, Tensor | undefined>;
  /** GAE advantages, 0 outside the mask. */
  advantages: Record<StreamName, Tensor | undefined>;
  /** GAE returns (advantages + values), the critics' targets. */
  returns: Record<StreamName, Tensor>;
}

/** Token scores from the method, then GAE per stream against that stream's critic values (B, T). */
export function estimateAdvantages(
  method: RlMethod,
  rollout: ScoredRollout,
  values: Record<StreamName, Tensor>,
  config: Pick<RlConfig, 'gamma' | 'gaeLambda'>,
): StreamAdvantages {
  const tokenScores = method.tokenScores(rollout);
  const advantages = {} as Record<StreamName, Tensor | undefined>;
  const returns = {} as Record<StreamName, Tensor>;
  for (const s of method.streams) {
    const g = gae(tokenScores[s] as Tensor, values[s], rollout.mask, config.gamma, config.gaeLambda);
    advantages[s] = g.advantages;
    returns[s] = g.returns;
  }
  return { tokenScores, advantages, returns };
}

/** The actor's advantage (B, T): the method's combination of stream advantages (`combined`), whitened over the mask if asked (`advantages`). */
export function actorAdvantages(method: RlMethod, advantages: Record<StreamName, Tensor | undefined>, mask: Tensor, whiten: boolean): { combined: Tensor; advantages: Tensor } {
  const combined = method.actorAdvantage(advantages);
  return { combined, advantages: whiten ? whitenAdvantages(combined, mask) : combined };
}
