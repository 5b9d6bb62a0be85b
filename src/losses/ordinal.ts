// Ordinal (cumulative-link) severity head: K−1 ordered cutpoints over one cost score, level probabilities and the negative log-likelihood.
import { cat, zeros, type Tensor } from '../torch/index.js';
import type { LossOutput } from './masked.js';

/**
 * The K−1 ordered cutpoints θ of a K-level head: θ_1 = 0 (so a score above 0 means P(level ≥ 1) > 1/2,
 * the cost model's unsafe side) and θ_k = θ_{k−1} + exp(g_{k−1}). logGaps: (K−2,) -> (K−1,).
 */
export function orderedCutpoints(logGaps: Tensor): Tensor {
  const first = zeros([1], { device: logGaps.device });
  if ((logGaps.shape[0] ?? 0) === 0) return first;
  return cat([first, logGaps.exp().cumsum(0)], 0);
}

/**
 * log P(level = k) of the cumulative-logit model P(level ≥ k) = σ(s − θ_k), in a stable form:
 * log(σ(s − θ_k) − σ(s − θ_{k+1})) = log σ(s − θ_k) + log σ(θ_{k+1} − s) + log(1 − exp(−(θ_{k+1} − θ_k))),
 * where the terms of the missing θ_0 = −∞ and θ_K = +∞ are 0. scores: (B,), cutpoints: (K−1,) -> (B, K).
 */
export function ordinalLogProbs(scores: Tensor, cutpoints: Tensor): Tensor {
  const b = scores.shape[0] ?? 0;
  const diff = scores.unsqueeze(1).sub(cutpoints.unsqueeze(0)); // (B, K−1): s − θ_k
  const edge = zeros([b, 1], { device: scores.device });
  const above = cat([edge, diff.logsigmoid()], 1); // log σ(s − θ_k), 0 for k = 0
  const below = cat([diff.neg().logsigmoid(), edge], 1); // log σ(θ_{k+1} − s), 0 for k = K−1
  let out = above.add(below);
  const k1 = cutpoints.shape[0] ?? 1;
  if (k1 > 1) {
    const gaps = cutpoints.narrow(0, 1, k1 - 1).sub(cutpoints.narrow(0, 0, k1 - 1)); // (K−2,)
    const gapTerm = gaps.neg().exp().neg().add(1).log(); // log(1 − e^−gap)
    const end = zeros([1], { device: scores.device });
    out = out.add(cat([end, gapTerm, end], 0).unsqueeze(0));
  }
  return out;
}

/**
 * The predicted level: the median of the level distribution, i.e. the number of cutpoints below the score
 * (level > j ⇔ P(level > j) > 1/2, monotone in the score). scores: (B,), cutpoints: (K−1,) -> (B,) int64.
 */
export function predictedLevels(scores: Tensor, cutpoints: Tensor): Tensor {
  return scores.unsqueeze(1).gt(cutpoints.unsqueeze(0)).long().sum(1);
}

/**
 * `−mean(log P(level = y)) + reg·mean(s²)` of the cumulative-logit model.
 * scores: (B,) end scores; cutpoints: (K−1,) from `orderedCutpoints`; levels: (B,) int64 in 0..K−1.
 * Metrics: accuracy of the predicted (median) level, its mean absolute error in levels, and the sign
 * accuracy (score > 0 ⇔ level > 0, the safe/unsafe split).
 */
export function ordinalLoss(scores: Tensor, cutpoints: Tensor, levels: Tensor, reg = 0.001): LossOutput {
  const logProbs = ordinalLogProbs(scores, cutpoints);
  const nll = logProbs.gather(1, levels.unsqueeze(1)).squeeze(1).mean().neg();
  const loss = nll.add(scores.pow(2).mean().mul(reg));
  const predicted = predictedLevels(scores, cutpoints);
  return {
    loss,
    metrics: {
      accuracy: predicted.eq(levels).float().mean().item(),
      meanAbsError: predicted.sub(levels).abs().float().mean().item(),
      signAccuracy: scores.gt(0).eq(levels.gt(0)).float().mean().item(),
      meanScore: scores.mean().item(),
    },
  };
}
