// Per-token KL shaping: the sequence score lands on the last response token, the KL penalty on every token.
import { lastTokenIndex } from '../models/score-model.js';
import type { Tensor } from '../torch/index.js';


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
