// Critic-free baselines over groups of G responses to one prompt: GRPO's group-normalised and RLOO's leave-one-out advantages.
import type { Tensor } from '../torch/index.js';

/** How GRPO scales the group-centred scores (TRL's `scale_rewards`): by the group's std, the batch's std, or not at all. */
export type GroupScale = 'group' | 'batch' | 'none';

/** The (P, G) view of B = P·G sequence scores whose consecutive runs of G rows share a prompt. */
function groups(scores: Tensor, groupSize: number): Tensor {
  const b = scores.shape[0] as number;
  if (groupSize < 2 || b % groupSize !== 0) throw new RangeError(`group baselines need groups of >= 2 samples that divide the batch; got ${b} rows in groups of ${groupSize}`);
  return scores.view([b / groupSize, groupSize]);
}

/**
 * GRPO (TRL): `(r - mean_group(r)) / (std + eps)`, std the unbiased std of the group ('group'), of the
 * whole batch ('batch'), or 1 with no eps ('none'). scores: (B,) with rows [g·G, (g+1)·G) one prompt's
 * samples. Returns (B,).
 */
export function groupAdvantages(scores: Tensor, groupSize: number, scale: GroupScale = 'group', eps = 1e-4): Tensor {
  const g = groups(scores, groupSize);
  const centred = g.sub(g.mean(1, true));
  if (scale === 'none') return centred.flatten();
  const std = scale === 'group' ? g.std(1, { unbiased: true, keepdim: true }) : scores.std(undefined, { unbiased: true });
  return centred.div(std.add(eps)).flatten();
}

/**
 * RLOO (Ahmadian et al. 2024; TRL): `r_i - mean_{j≠i} r_j` = `(G·r_i - Σ_j r_j)/(G - 1)` within each
 * group. scores: (B,) grouped as in groupAdvantages. Returns (B,).
 */
export function leaveOneOutAdvantages(scores: Tensor, groupSize: number): Tensor {
  const g = groups(scores, groupSize);
  return g.mul(groupSize).sub(g.sum(1, true)).div(groupSize - 1).flatten();
}

/**
 * Normalise-then-sum (GDPO; TRL's multi-objective option): each score z-scored within its group,
 * weighted, summed, then z-scored over the batch: `A = (s - mean_B(s)) / (std_B(s) + eps)` with
 * `s = Σ_k w_k·(r_k - mean_group(r_k)) / (std_group(r_k) + eps)`. Keeps distinct reward mixes apart where
 * sum-then-normalise can collapse them. scores: K tensors (B,), weights: K numbers. Returns (B,).
 */
export function normaliseThenSum(scores: readonly Tensor[], weights: readonly number[], groupSize: number, eps = 1e-4): Tensor {
  if (scores.length === 0 || scores.length !== weights.length) throw new RangeError(`normaliseThenSum: ${scores.length} scores and ${weights.length} weights`);
  return batchZScore(scores.map((s, k) => groupAdvantages(s, groupSize, 'group', eps).mul(weights[k] as number)).reduce((a, b) => a.add(b)), eps);
}

/** `(x - mean(x)) / (std(x) + eps)` over the batch, std unbiased. x: (B,). */
export function batchZScore(x: Tensor, eps = 1e-4): Tensor {
  return x.sub(x.mean()).div(x.std(undefined, { unbiased: true }).add(eps));
}
