// Reward-model loss: pairwise Bradley–Terry on end scores plus an L2 penalty on the scores.
import type { Tensor } from '../torch/index.js';
import type { LossOutput } from './masked.js';

/**
 * `-log σ(r_better - r_worse) + reg · (mean(r_better²) + mean(r_worse²))`.
 * betterScores, worseScores: (B,) end scores of the preferred and the other response.
 * The regulariser keeps scores near zero (safe-rlhf's `regularization`, default 0.001).
 */
export function rewardModelLoss(betterScores: Tensor, worseScores: Tensor, reg = 0.001): LossOutput {
  const margin = betterScores.sub(worseScores);
  const loss = margin
    .logsigmoid()
    .mean()
    .neg()
    .add(betterScores.pow(2).mean().add(worseScores.pow(2).mean()).mul(reg));
  return {
    loss,
    metrics: {
      accuracy: margin.gt(0).float().mean().item(),
      betterMean: betterScores.mean().item(),
      worseMean: worseScores.mean().item(),
    },
  };
}
