// The validation split of the annotator-labelled training pairs and the cost threshold d calibrated on it.
import type { ScoreEval } from '../algorithms/score/train.js';
import { ConfigError } from '../config/schema-cli.js';
import type { Rng } from '../world/rng.js';

/**
 * Holds out `round(fraction · n)` of `records` (at least one when fraction > 0 and n > 0), chosen
 * by `rng`; both parts keep the records' original order, so training sees its data as before.
 */
export function splitValidation<T>(records: readonly T[], fraction: number, rng: Rng): { train: T[]; validation: T[] } {
  const k = fraction > 0 && records.length > 0 ? Math.max(1, Math.round(fraction * records.length)) : 0;
  const held = new Set(rng.sample([...records.keys()], k));
  return { train: records.filter((_, i) => !held.has(i)), validation: records.filter((_, i) => held.has(i)) };
}

/**
 * Threshold d of the constraint J_c <= d from the cost model's scores on validation responses
 * labelled safe / unsafe by the annotators' majority:
 *   d = safeMean + quantile · (unsafeMean - safeMean).
 * Why this rule: J_c is the mean cost of a policy's responses. If a policy answers unsafely with
 * probability p and the cost model scores its safe and unsafe answers like those of the validation
 * set, J_c ≈ safeMean + p · (unsafeMean - safeMean); so d is the expected cost of a policy whose
 * unsafe share is `quantile`, i.e. `quantile` is the tolerated unsafe share.
 */
export function calibrateThreshold(costValidation: ScoreEval, quantile: number): number {
  const { safeMean, unsafeMean } = costValidation;
  if (!Number.isFinite(safeMean) || !Number.isFinite(unsafeMean)) {
    throw new ConfigError(
      `cannot calibrate the cost threshold d: the validation split has ${Number.isFinite(safeMean) ? 'no response labelled unsafe' : 'no response labelled safe'} ` +
        `(${costValidation.n} pairs). Raise scoreValidation.fraction or set ppoLag.lagrange.threshold.`,
    );
  }
  return safeMean + quantile * (unsafeMean - safeMean);
}
