// Constraint update phase: the method's once-per-step update before the actor moves (PPO-Lagrangian's λ step).
import type { RlMethod, ScoredRollout } from './method.js';

/** Runs the method's beforeUpdate on the scored rollout; returns its metrics (e.g. λ, J_c), {} for methods without one. */
export function updateConstraint(method: RlMethod, rollout: ScoredRollout): Record<string, number> {
  return method.beforeUpdate?.(rollout) ?? {};
}
