// HC-RLHF's high-confidence pieces: the inflation k of the candidate's cost bound and the Student-t safety test on held-out costs.
import { studentTQuantile } from '../eval/intervals.js';

/** Sample mean and standard deviation (unbiased, n − 1) of n >= 2 values. */
export function meanStd(xs: readonly number[]): { n: number; mean: number; std: number } {
  const n = xs.length;
  if (n < 2) throw new RangeError(`a sample standard deviation needs at least 2 values, got ${n}`);
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { n, mean, std };
}

/**
 * k of the candidate's inflated bound c̄ + k·ŝ <= τ (Chittepu et al. 2025, HC-RLHF):
 * k = C1·t_{1−δ, n_b−1}/√n_b + C2·t_{1−δ, n_s−1}/√n_s, with n_b the costs the candidate's c̄ and ŝ are estimated on
 * and n_s the safety set's size. The second term anticipates the safety test's own margin, so that a candidate
 * that meets the inflated bound is likely to pass it.
 */
export function hcInflation(args: { delta: number; nBatch: number; nSafety: number; c1: number; c2: number }): number {
  const { delta, nBatch, nSafety, c1, c2 } = args;
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must lie in (0, 1), got ${delta}`);
  if (nBatch < 2 || nSafety < 2) throw new RangeError(`n_b and n_s must be >= 2, got ${nBatch} and ${nSafety}`);
  const term = (n: number) => studentTQuantile(1 - delta, n - 1) / Math.sqrt(n);
  return c1 * term(nBatch) + c2 * term(nSafety);
}

/** What the safety test found: the (1 − δ) Student-t upper bound on the expected cost and whether it is <= τ. */
export interface SafetyTestResult {
  passed: boolean;
  n: number;
  mean: number;
  std: number;
  /** c̄ + t_{1−δ, n−1}·ŝ/√n. */
  upperBound: number;
  tau: number;
  delta: number;
}

/**
 * HC-RLHF's safety test on the held-out costs of one candidate (one response per safety prompt): pass iff
 * c̄ + t_{1−δ, n−1}·ŝ/√n <= τ, a one-sided (1 − δ) upper confidence bound on the expected cost. Returned only
 * when it passes, a model's expected cost exceeds τ with probability at most δ (when the mean is near normal).
 */
export function safetyTest(costs: readonly number[], settings: { tau: number; delta: number }): SafetyTestResult {
  const { n, mean, std } = meanStd(costs);
  const upperBound = mean + (studentTQuantile(1 - settings.delta, n - 1) * std) / Math.sqrt(n);
  return { passed: upperBound <= settings.tau, n, mean, std, upperBound, tau: settings.tau, delta: settings.delta };
}
