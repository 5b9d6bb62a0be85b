// Per-token KL shaping: the sequence score lands on the last response token, the KL penalty on every token.
import { arange, type Tensor } from '../torch/index.js';

/** Index of the last response token of each row. mask: (B, T) float 0/1 -> (B,) int64. */
export function lastTokenIndex(mask: Tensor): Tensor {
  const t = mask.shape[1] as number;
  return mask.mul(arange(0, t, 1, { dtype: 'float32' }).add(1)).argmax(1);
}

/**
 * `s_t = klCoef·kl_t·mask_t + clamp(S, ±clip)·[t = end]` with kl_t = log π(a_t) - log π_ref(a_t).
 * Reward stream: klCoef = -β (KL lowers the reward); cost stream: klCoef = +β (KL raises the cost),
 * as in Safe RLHF. kl, mask: (B, T); endScores: (B,). Returns (B, T).
 */
export function klShapedScores(endScores: Tensor, kl: Tensor, mask: Tensor, klCoef: number, clip = 50): Tensor {
  const perToken = kl.mul(mask).mul(klCoef);
  const end = lastTokenIndex(mask).unsqueeze(1);
  const atEnd = perToken.mul(0).scatter(1, end, endScores.clamp(-clip, clip).unsqueeze(1));
  return perToken.add(atEnd);
}
