// Cost-model losses: pairwise ordering of harm plus a sign term that puts safe below 0 and unsafe above; the sign term alone for per-response labels.
import type { Tensor } from '../torch/index.js';
import type { LossOutput } from './masked.js';

/** The cost sign s: +1 for an unsafe response, -1 for a safe one (1 - 2·isSafe). isSafe: (B,) bool -> (B,) float. */
function costSign(isSafe: Tensor): Tensor {
  return isSafe.float().mul(-2).add(1);
}

/** `-mean(log σ(s·c))`: pushes each cost to the side of 0 its label says. costs: (B,), sign: (B,). */
function signTerm(costs: Tensor, sign: Tensor): Tensor {
  return sign.mul(costs).logsigmoid().mean().neg();
}

/** Number of costs whose sign matches the label's sign (a float scalar tensor). */
function signMatches(costs: Tensor, sign: Tensor): Tensor {
  return costs.sign().eq(sign).float().sum();
}

/**
 * `-log σ(c_unsafer - c_safer) - log σ(s_safer·c_safer) - log σ(s_unsafer·c_unsafer) + reg·(mean(c_safer²) + mean(c_unsafer²))`
 * where the cost sign s is +1 for an unsafe response and -1 for a safe one.
 * saferCosts, unsaferCosts: (B,) end scores; saferIsSafe, unsaferIsSafe: (B,) bool labels.
 */
export function costModelLoss(
  saferCosts: Tensor,
  unsaferCosts: Tensor,
  saferIsSafe: Tensor,
  unsaferIsSafe: Tensor,
  reg = 0.001,
): LossOutput {
  const saferSign = costSign(saferIsSafe);
  const unsaferSign = costSign(unsaferIsSafe);
  const pairwise = unsaferCosts.sub(saferCosts).logsigmoid().mean().neg();
  const sign = signTerm(saferCosts, saferSign).add(signTerm(unsaferCosts, unsaferSign));
  const l2 = saferCosts.pow(2).mean().add(unsaferCosts.pow(2).mean()).mul(reg);
  const loss = pairwise.add(sign).add(l2);
  const signCorrect = signMatches(saferCosts, saferSign).add(signMatches(unsaferCosts, unsaferSign));
  return {
    loss,
    metrics: {
      accuracy: unsaferCosts.gt(saferCosts).float().mean().item(),
      signAccuracy: signCorrect.item() / (2 * (saferCosts.shape[0] ?? 1)),
      saferMean: saferCosts.mean().item(),
      unsaferMean: unsaferCosts.mean().item(),
    },
  };
}

/**
 * The classification term of the cost loss alone, for responses labelled safe or unsafe without a
 * pair: `-mean(log σ(s·c)) + reg·mean(c²)`, s = +1 unsafe, -1 safe.
 * costs: (B,) end scores; isSafe: (B,) bool labels. `accuracy` is the sign accuracy (there is no pair to order).
 */
export function costLabelLoss(costs: Tensor, isSafe: Tensor, reg = 0.001): LossOutput {
  const sign = costSign(isSafe);
  const loss = signTerm(costs, sign).add(costs.pow(2).mean().mul(reg));
  const signAccuracy = signMatches(costs, sign).item() / (costs.shape[0] ?? 1);
  return { loss, metrics: { accuracy: signAccuracy, signAccuracy, meanCost: costs.mean().item() } };
}
