// Reductions of K score-model ensemble members to one score: mean, worst case, mean ∓ k·std (UP-RLHF), λ·mean + (1 − λ)·worst (BRME).
import type { Tensor } from '../torch/index.js';

/**
 * How the K members' scores of a response become one score. Every reduction but `mean` is pessimistic
 * in the direction of the stream: for a reward (higher is better) the worst member is the lowest, for a
 * cost (higher is worse) the highest.
 * - 'mean': the members' mean.
 * - 'worst': the worst member (reward: min; cost: max).
 * - 'uncertainty': UP-RLHF's uncertainty penalty, reward mean − k·std, cost mean + k·std (std over the
 *   members, population form: dividing by K).
 * - 'robust': reward-robust RLHF / BRME's λ·nominal + (1 − λ)·worst, with the members' mean as the nominal.
 */
export type EnsembleReduction = 'mean' | 'worst' | 'uncertainty' | 'robust';

export interface EnsembleReduce {
  reduce: EnsembleReduction;
  /** k of 'uncertainty'. */
  k: number;
  /** λ of 'robust': the nominal's weight. */
  lambda: number;
}

/** Which way is worse for a stream's score: 'lower' for a reward, 'higher' for a cost. */
export type Worse = 'lower' | 'higher';

/**
 * One score per response from the members' scores. scores: (K, B) -> (B,). Differentiable in the scores
 * (the worst member gets the whole gradient of 'worst'; std's gradient is that of the population std).
 * The cost forms are the reward forms applied to −C and negated, so a cost's pessimism points upwards.
 */
export function reduceEnsemble(scores: Tensor, spec: EnsembleReduce, worse: Worse): Tensor {
  const sign = worse === 'lower' ? 1 : -1;
  // x: the scores turned so that lower is worse for both streams
  const x = scores.mul(sign);
  const mean = () => x.mean(0);
  const worst = () => x.min(0);
  const reduced: Record<EnsembleReduction, () => Tensor> = {
    mean,
    worst,
    uncertainty: () => mean().sub(x.std(0, { unbiased: false }).mul(spec.k)),
    robust: () => mean().mul(spec.lambda).add(worst().mul(1 - spec.lambda)),
  };
  return reduced[spec.reduce]().mul(sign);
}
