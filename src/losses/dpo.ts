// Direct Preference Optimisation: logistic loss on the policy/reference log-ratio margin.
import type { Tensor } from '../torch/index.js';
import type { LossOutput } from './masked.js';

/**
 * `-log σ(β·((π_c - ref_c) - (π_r - ref_r)))`, all arguments (B,) sequence log-probabilities
 * (sums over response tokens) of the chosen and rejected responses.
 */
export function dpoLoss(
  policyChosen: Tensor,
  policyRejected: Tensor,
  refChosen: Tensor,
  refRejected: Tensor,
  beta = 0.1,
): LossOutput {
  const chosenReward = policyChosen.sub(refChosen).mul(beta);
  const rejectedReward = policyRejected.sub(refRejected).mul(beta);
  const logits = chosenReward.sub(rejectedReward);
  return {
    loss: logits.logsigmoid().mean().neg(),
    metrics: {
      rewardAccuracy: logits.gt(0).float().mean().item(),
      rewardMargin: logits.mean().item(),
      chosenReward: chosenReward.mean().item(),
      rejectedReward: rejectedReward.mean().item(),
    },
  };
}
