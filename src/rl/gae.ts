// Generalised advantage estimation over masked response tokens.
import { tensor, type Tensor } from '../torch/index.js';

/**
 * GAE: δ_t = r_t + γ·V_{t+1}·m_{t+1} - V_t, A_t = δ_t + γλ·A_{t+1}·m_{t+1}; returns = A + V.
 * rewards, values, mask: (B, T) (values are detached critic outputs). Positions outside the
 * mask get 0. Computed in float64 on the host: T is short and there is no gradient here.
 */
export function gae(rewards: Tensor, values: Tensor, mask: Tensor, gamma = 1, lambda = 0.95): { advantages: Tensor; returns: Tensor } {
  const [b, t] = rewards.shape as [number, number];
  const r = rewards.toFloat64Array();
  const v = values.toFloat64Array();
  const m = mask.toFloat64Array();
  const adv = new Float32Array(b * t);
  const ret = new Float32Array(b * t);
  for (let i = 0; i < b; i++) {
    let last = 0;
    for (let j = t - 1; j >= 0; j--) {
      const k = i * t + j;
      const nextMask = j + 1 < t ? (m[k + 1] as number) : 0;
      const nextValue = j + 1 < t ? (v[k + 1] as number) * nextMask : 0;
      const delta = (r[k] as number) + gamma * nextValue - (v[k] as number);
      last = delta + gamma * lambda * last * nextMask;
      const mk = m[k] as number;
      adv[k] = last * mk;
      ret[k] = (last + (v[k] as number)) * mk;
    }
  }
  const device = rewards.device;
  return { advantages: tensor(adv, { shape: [b, t], device }), returns: tensor(ret, { shape: [b, t], device }) };
}
