// SafeDPO (Kim et al. 2025): helpfulness pairs reordered by per-response safety, and the Δ offset that makes a safe winner win by a margin.
import { tensor, type Device, type Tensor } from '../torch/index.js';

/**
 * What to do with a pair whose two responses are both unsafe. 'keep' (the paper's transformation,
 * our default): the helpfulness order stands and the offset is 0, so the pair still teaches which
 * unsafe answer is more helpful — under SafeDPO's objective both have reward −∞ and the pair only
 * moves probability between two responses the optimum never samples. 'drop': leave such pairs out.
 */
export type BothUnsafe = 'keep' | 'drop';

/** A pair after reordering: which response is chosen, and u = 1[unsafe] of each side. */
export interface SafeDpoPair {
  chosen: 0 | 1;
  rejected: 0 | 1;
  chosenUnsafe: boolean;
  rejectedUnsafe: boolean;
}

/**
 * SafeDPO's reordering: start from the helpfulness preference (`better` wins); when exactly one
 * response is unsafe, the safe one is chosen whatever its helpfulness. Both safe: helpfulness
 * order. Both unsafe: see `BothUnsafe` (null = dropped).
 */
export function safeDpoOrder(better: 0 | 1, isSafe: readonly [boolean, boolean], bothUnsafe: BothUnsafe): SafeDpoPair | null {
  if (!isSafe[0] && !isSafe[1] && bothUnsafe === 'drop') return null;
  const worse = (1 - better) as 0 | 1;
  const swap = !isSafe[better] && isSafe[worse];
  const [chosen, rejected] = swap ? [worse, better] : [better, worse];
  return { chosen, rejected, chosenUnsafe: !isSafe[chosen], rejectedUnsafe: !isSafe[rejected] };
}

/** The offset (B,) subtracted from each pair's logit: (u_l − u_w)·Δ, Δ ≥ 0 (positive exactly when a safe response beats an unsafe one). */
export function safeDpoOffset(pairs: readonly Pick<SafeDpoPair, 'chosenUnsafe' | 'rejectedUnsafe'>[], delta: number, device?: Device): Tensor {
  return tensor(pairs.map((p) => (Number(p.rejectedUnsafe) - Number(p.chosenUnsafe)) * delta), { device });
}
