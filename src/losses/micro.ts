// MiCRo (Shen et al. 2025): the mixture Bradley–Terry likelihood of K reward heads, and the Hedge routing of one annotator's pairs.
import type { Tensor } from '../torch/index.js';
import type { LossOutput } from './masked.js';

/**
 * `P(y_w ≻ y_l | x) = Σ_k w_k(x)·σ(r_k(x, y_w) − r_k(x, y_l))` with `w(x) = softmax(g(x))`; the loss is
 * `−mean log P + reg·(mean(r_w²) + mean(r_l²))` (the reward model's L2 on scores, over every head).
 * Computed in log space: `log P = logsumexp_k(log_softmax(g)_k + log σ(Δ_k))`.
 * betterScores, worseScores: (B, K) the heads' end scores of the preferred and the other response;
 * routerLogits: (B, K). With K = 1 it is the Bradley–Terry reward-model loss.
 */
export function mixtureBtLoss(betterScores: Tensor, worseScores: Tensor, routerLogits: Tensor, reg = 0.001): LossOutput {
  const logProb = routerLogits.logSoftmax(1).add(betterScores.sub(worseScores).logsigmoid()).logsumexp(1);
  const loss = logProb.mean().neg().add(betterScores.pow(2).mean().add(worseScores.pow(2).mean()).mul(reg));
  return {
    loss,
    metrics: {
      accuracy: logProb.gt(Math.log(0.5)).float().mean().item(),
      betterMean: betterScores.mean().item(),
      worseMean: worseScores.mean().item(),
    },
  };
}

/**
 * The latent-class form at the level of the annotator: the B pairs are one annotator's labels, all drawn
 * from the same head, `P(labels) = Σ_k π_k·Π_b σ(r_k(y_w,b) − r_k(y_l,b))` with `log π = log_softmax(mean_b g(x_b))`;
 * the loss is `−log P / B + reg·(mean(r_w²) + mean(r_l²))`. A batch of some of an annotator's labels is an
 * exact marginal of the model, so training on such batches maximises a composite likelihood of every
 * annotator's labels. Shapes as `mixtureBtLoss`.
 */
export function groupedMixtureBtLoss(betterScores: Tensor, worseScores: Tensor, routerLogits: Tensor, reg = 0.001): LossOutput {
  const n = betterScores.shape[0] as number;
  const margins = betterScores.sub(worseScores);
  const logProb = routerLogits.mean(0).logSoftmax(0).add(margins.logsigmoid().sum(0)).logsumexp(0);
  const loss = logProb.div(n).neg().add(betterScores.pow(2).mean().add(worseScores.pow(2).mean()).mul(reg));
  // the posterior over heads given these labels, and its pairwise accuracy
  const posterior = routerLogits.mean(0).logSoftmax(0).add(margins.logsigmoid().sum(0)).softmax(0);
  return {
    loss,
    metrics: {
      accuracy: posterior.mul(margins.sigmoid()).sum(1).gt(0.5).float().mean().item(),
      betterMean: betterScores.mean().item(),
      worseMean: worseScores.mean().item(),
    },
  };
}

/**
 * Each head's log-loss on pairs: `−log σ(r_k(y_w) − r_k(y_l))`. betterScores, worseScores: (B, K) -> (B, K).
 * The loss the Hedge routing charges every head (expert) per labelled pair.
 */
export function headLogLosses(betterScores: Tensor, worseScores: Tensor): Tensor {
  return betterScores.sub(worseScores).logsigmoid().neg();
}

/**
 * Hedge (multiplicative weights) over the K heads, started from the router's prior and run over one
 * context's (annotator's) labelled pairs: `w = softmax(log prior − η·Σ_pairs ℓ_k)`.
 * logPrior: (…, K) log-weights; cumulativeLoss: (K,) the heads' summed log-losses -> (…, K) log-weights.
 */
export function hedgeLogWeights(logPrior: Tensor, cumulativeLoss: Tensor, eta: number): Tensor {
  return logPrior.sub(cumulativeLoss.mul(eta)).logSoftmax(-1);
}
