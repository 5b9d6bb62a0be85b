// Masked next-token cross-entropy: the SFT loss, and PPO's PTX term.
import { crossEntropy, type Tensor } from '../torch/index.js';
import { maskedMean, type LossOutput } from './masked.js';

/** logits: (B, T, V); labels: (B, T) int64; mask: (B, T) float (1 where the token is trained on). */
export function tokenCrossEntropy(logits: Tensor, labels: Tensor, mask: Tensor): LossOutput {
  const [b, t, v] = logits.shape as [number, number, number];
  const perToken = crossEntropy(logits.reshape([b * t, v]), labels.reshape([b * t]), { reduction: 'none' }).reshape([b, t]);
  const loss = maskedMean(perToken, mask);
  return { loss, metrics: { loss: loss.item() } };
}
