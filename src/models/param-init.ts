// Random initial parameter values, made without leaving the unscaled draw behind for the garbage collector.
import { noGrad, rand, randn, tidy, type Device, type Tensor } from '../torch/index.js';

/** N(0, std²) values of `shape` (no gradient history) on `device` (default: the default device); the unit draw is freed at once, not by the GC. */
export function normal(shape: number[], std: number, device?: Device): Tensor {
  return noGrad(() => tidy(() => randn(shape, device ? { device } : {}).mul(std)));
}

/** U(−bound, bound) values of `shape` (no gradient history); the unit draw is freed at once, not by the GC. */
export function uniform(shape: number[], bound: number, device?: Device): Tensor {
  return noGrad(() => tidy(() => rand(shape, device ? { device } : {}).mul(2 * bound).sub(bound)));
}
