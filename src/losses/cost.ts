// Cost-model loss: pairwise ordering of harm plus a sign term that puts safe below 0 and unsafe above.
import type { Tensor } from '../torch/index.js';
import type { LossOutput } from './masked.js';

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
  // costSign = +1 (unsafe) / -1 (safe): 1 - 2·isSafe
  const saferSign = saferIsSafe.float().mul(-2).add(1);
  const unsaferSign = unsaferIsSafe.float().mul(-2).add(1);
  const pairwise = unsaferCosts.sub(saferCosts).logsigmoid().mean().neg();
  const sign = saferSign.mul(saferCosts).logsigmoid().mean().add(unsaferSign.mul(unsaferCosts).logsigmoid().mean()).neg();
  const l2 = saferCosts.pow(2).mean().add(unsaferCosts.pow(2).mean()).mul(reg);
  const loss = pairwise.add(sign).add(l2);
  const signCorrect = saferCosts.sign().eq(saferSign).float().sum().add(unsaferCosts.sign().eq(unsaferSign).float().sum());
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
