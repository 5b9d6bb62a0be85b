// Scoring phase: reference log-probs, reward/cost end scores and critic values of a rollout (no gradient).
import type { DataParallel } from '../../distributed/data-parallel.js';
import { noGrad, tensor, tidy, type Tensor } from '../../torch/index.js';
import { assertFinite } from './diverged.js';
import { byRows, lengthBuckets } from './length-buckets.js';
import { scorerEndScores, type RlScorer } from './images.js';
import type { ScoredRollout, StreamName } from './method.js';
import type { RlModels, StreamCritics } from './models.js';
import { responseLogProbs, responseValues } from './response-passes.js';
import type { Rollout } from './rollout.js';

/** What the frozen models say about a rollout of B sequences with T response positions. */
export interface RolloutScores {
  /** (B, T) log π_ref of the response tokens. */
  refLogProbs: Tensor;
  /** (B,) reward model end scores. */
  reward: Tensor;
  /** (B,) cost model end scores, when the method uses a cost model. */
  cost: Tensor | null;
  /** Per critic stream, (B, T) critic values V_old at response positions, 0 outside the mask (none for critic-free methods). */
  values: Partial<Record<StreamName, Tensor>>;
}

/** Runs reference, score models and critics on the rollout; `step` (1-based) names a non-finite score. */
export function scoreRollout(models: RlModels, critics: StreamCritics, usesCost: boolean, rollout: Rollout, step: number): RolloutScores {
  const { sequences: seq, attentionMask: attn, mask, promptLength: L } = rollout;
  const T = mask.shape[1] as number;
  // V_old in eval mode: a critic's last update left it training, and LoRA dropout must not touch the values the update regresses from
  for (const [, c] of critics) c.eval();
  // rows of similar length run together, cut to the columns they use (padding is not computed; equal to the padded pass)
  const buckets = lengthBuckets(attn);
  const batch = { sequences: seq, attentionMask: attn, promptLength: L, responseLength: T, images: rollout.images };
  const ends = (scorer: RlScorer) => byRows(buckets, seq, attn, (ids, m, b) => scorerEndScores(scorer, ids, m, rollout.images, b.rows));
  // one scope per model: each pass's logits, caches and hidden states are freed before the next pass runs
  const scores = noGrad(() => {
    // the reference's LM head runs on each bucket's response columns only (those from L on)
    const refLogProbs = tidy(() => responseLogProbs(models.reference, buckets, batch).logProbs);
    // a score model's last layer runs on each bucket's row ends only
    const reward = tidy(() => ends(models.rewardModel));
    const cost = usesCost ? tidy(() => ends(models.costModel as RlScorer)) : null;
    const values = Object.fromEntries(critics.map(([s, c]) => [s, tidy(() => responseValues(c, buckets, batch).mul(mask))]));
    return { refLogProbs, reward, cost, values: values as Partial<Record<StreamName, Tensor>> };
  });
  assertFinite('the reward model score', scores.reward.toNumbers(), step, 'Check the reward model checkpoint.');
  if (scores.cost) assertFinite('the cost model score', scores.cost.toNumbers(), step, 'Check the cost model checkpoint.');
  return scores;
}

/**
 * scoreRollout in a data-parallel job: each rank scores its share of the rows, and every rank gets the scores of
 * all of them (in row order), so the whole batch's statistics that follow are those of one process.
 */
export function scoreRolloutShared(job: DataParallel, models: RlModels, critics: StreamCritics, usesCost: boolean, rollout: Rollout, step: number): RolloutScores {
  if (job.worldSize === 1) return scoreRollout(models, critics, usesCost, rollout, step);
  const share = job.shareOrStandIn(Array.from({ length: rollout.mask.shape[0] as number }, (_, i) => i));
  const rows = tensor(share.items, { dtype: 'int64', device: rollout.sequences.device });
  const pick = (x: Tensor) => x.indexSelect(0, rows);
  const part = scoreRollout(
    models,
    critics,
    usesCost,
    { ...rollout, sequences: pick(rollout.sequences), attentionMask: pick(rollout.attentionMask), mask: pick(rollout.mask), oldLogProbs: pick(rollout.oldLogProbs), images: rollout.images?.select(share.items) },
    step,
  );
  const all = (x: Tensor) => job.gatherRows(share.standIn ? x.narrow(0, 0, 0) : x);
  return {
    refLogProbs: all(part.refLogProbs),
    reward: all(part.reward),
    cost: part.cost ? all(part.cost) : null,
    values: Object.fromEntries(Object.entries(part.values).map(([s, v]) => [s, all(v)])) as Partial<Record<StreamName, Tensor>>,
  };
}

/** The rollout as methods see it: mask, per-token KL (B, T) = (log π_old - log π_ref)·mask, end scores. */
export function methodView(rollout: Rollout, scores: RolloutScores): ScoredRollout {
  const kl = rollout.oldLogProbs.sub(scores.refLogProbs).mul(rollout.mask);
  return { mask: rollout.mask, kl, reward: scores.reward, cost: scores.cost, ...(rollout.categories ? { categories: rollout.categories } : {}) };
}
