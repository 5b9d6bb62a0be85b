// P3O's pairwise policy losses (Wu et al. 2023): trajectory-wise ratios of two responses to one prompt, clipped separately or jointly.
import type { Tensor } from '../torch/index.js';
import type { LossOutput } from './masked.js';

/** How P3O clips: each response's trajectory ratio on its own (the paper's V1), or the pair's ratio ρ_1/ρ_2 as a whole (V2). */
export type PairwiseClip = 'separate' | 'joint';

/** `max(−A·ρ, −A·clip(ρ, 1 − ε, 1 + ε))`, elementwise. */
function clippedSurrogate(ratio: Tensor, advantages: Tensor, clip: number): Tensor {
  return advantages.neg().mul(ratio).maximum(advantages.neg().mul(ratio.clamp(1 - clip, 1 + clip)));
}

/**
 * P3O's loss on B = 2·P rows, rows 2k and 2k+1 the two responses to one prompt. With s_i = Σ_t log π_θ (masked),
 * ρ_i = exp(s_i − s_i,old) and Δ = advantages[2k] = r̃_1 − r̃_2 (so advantages[2k+1] = −Δ):
 * 'separate': per pair ½·[max(−Δ·ρ_1, −Δ·clip(ρ_1)) + max(Δ·ρ_2, Δ·clip(ρ_2))];
 * 'joint': per pair ½·max(−Δ·ρ, −Δ·clip(ρ)) with ρ = ρ_1/ρ_2; both averaged over pairs.
 * On-policy both give the pairwise policy gradient −½·Δ·∇(s_1 − s_2); a reward shift common to both responses
 * cancels in Δ. logProbs: (B, T) current policy (with grad); oldLogProbs, mask: (B, T); advantages: (B,).
 * Metrics: clipFraction (rows for 'separate', pairs for 'joint', |ρ − 1| > ε) and approxKl (½·(s − s_old)² per row).
 *
 * Checked against the paper's statements as stored summaries quote them (the Section 4.2 equations themselves were
 * not in the sources found): the pairwise policy gradient (Eq. 6, Theorem 1) E[(r(y_1) − r(y_2))·∇(log π(y_1) −
 * log π(y_2))/2] — our on-policy gradient, factor ½ included; the final reward r_preference − β·KL (our r̃); two
 * clipping versions, "separately or jointly for y_1 and y_2". The joint ratio is ρ_1/ρ_2 because it is the one
 * trajectory ratio whose gradient, ρ_1/ρ_2·∇(s_1 − s_2), points along that pairwise direction (ρ_1·ρ_2 would give
 * ∇(s_1 + s_2)).
 */
export function pairwisePolicyLoss(logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor, mask: Tensor, clip: number, variant: PairwiseClip): LossOutput {
  const b = logProbs.shape[0] as number;
  if (b % 2 !== 0) throw new RangeError(`P3O's loss needs pairs of rows (two responses per prompt); got ${b} rows`);
  const logRatio = logProbs.sub(oldLogProbs).mul(mask).sum(1);
  let perPair: Tensor;
  let ratio: Tensor;
  if (variant === 'separate') {
    ratio = logRatio.exp();
    perPair = clippedSurrogate(ratio, advantages, clip).view([b / 2, 2]).sum(1);
  } else {
    const pairs = logRatio.view([b / 2, 2]);
    ratio = pairs.select(1, 0).sub(pairs.select(1, 1)).exp();
    perPair = clippedSurrogate(ratio, advantages.view([b / 2, 2]).select(1, 0), clip);
  }
  const clipFraction = ratio.sub(1).abs().gt(clip).float().mean().item();
  return { loss: perPair.mul(0.5).mean(), metrics: { clipFraction, approxKl: logRatio.pow(2).mul(0.5).mean().item() } };
}
