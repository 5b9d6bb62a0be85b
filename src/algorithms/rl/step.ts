// One RL step on a given rollout: scoring -> (score normalisation) -> advantage estimation -> constraint update -> actor and critic updates -> log record.
import type { Tensor } from '../../torch/index.js';
import type { Rng } from '../../world/rng.js';
import { actorAdvantages, estimateAdvantages, type StreamAdvantages } from './advantages.js';
import { updateConstraint } from './constraint.js';
import type { RlContext } from './context.js';
import type { ScoredRollout } from './method.js';
import { ppoUpdate, type UpdateResult } from './ppo-update.js';
import type { Rollout } from './rollout.js';
import { methodView, scoreRolloutShared, type RolloutScores } from './scoring.js';
import { stepRecord, type RlLogRecord } from './step-log.js';

/** Every intermediate quantity of a step (tensors (B, T) or (B,)), for tests and diagnostics. */
export interface StepTrace {
  scores: RolloutScores;
  /** The rollout as the method saw it (mask, KL, end scores). */
  view: ScoredRollout;
  streams: StreamAdvantages;
  /** The constraint phase's metrics (λ, J_c, λ loss for PPO-Lagrangian). */
  constraint: Record<string, number>;
  /** (B, T) the method's combination of the stream advantages. */
  combinedAdvantages: Tensor;
  /** (B, T) the actor's advantages (combined, then whitened if configured). */
  actorAdvantages: Tensor;
  update: UpdateResult;
}

/**
 * Runs one step of `ctx.method` on `rollout` (1-based `step`, PTX examples drawn from `ptxRng`); updates actor, critics and method state.
 * `scores` is the rollout's scoring phase, run here unless the caller ran it (bench/rl-step times the phases apart).
 * In a data-parallel job every rank passes the whole batch's rollout: scoring and the updates are shared out by rows,
 * and the whole-batch phases (normalisation, advantages and their whitening, the constraint, the log) run on all of it.
 */
export function rlStep(
  ctx: RlContext,
  rollout: Rollout,
  step: number,
  ptxRng: Rng,
  scores: RolloutScores = scoreRolloutShared(ctx.job, ctx.models, ctx.critics, ctx.method.usesCost, rollout, step),
): { record: RlLogRecord; trace: StepTrace } {
  const { method, config } = ctx;
  const view = methodView(rollout, scores);
  // the streams see the normalised scores (PPO-max, when on); the constraint and the log see the scores as scored
  const streams = estimateAdvantages(method, ctx.normalizers.apply(view), scores.values, config);
  const constraint = updateConstraint(method, view);
  const adv = actorAdvantages(method, streams.advantages, rollout.mask, config.whitenAdvantages, config.advantageClip);
  const update = ppoUpdate(ctx, rollout, { actorAdvantages: adv.advantages, values: scores.values, returns: streams.returns, refLogProbs: scores.refLogProbs }, ptxRng, step);
  return { record: stepRecord(step, view, update, constraint), trace: { scores, view, streams, constraint, combinedAdvantages: adv.combined, actorAdvantages: adv.advantages, update } };
}
