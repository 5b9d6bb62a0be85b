// The validation split of the annotator-labelled training pairs and the cost threshold d calibrated on it.
import { calibrateThreshold } from '../algorithms/ppo-lag/threshold.js';
import { ConfigError } from '../config/schema-cli.js';
import type { ScoreEval } from '../algorithms/score/train.js';
import type { Progress } from '../core/progress.js';
import type { Rng } from '../world/rng.js';

export { calibrateThreshold };

/** Refuses a run whose d is to be calibrated (threshold null) without a validation split to calibrate it on. */
export function assertThresholdSource(threshold: number | null, validationFraction: number): void {
  if (threshold === null && validationFraction === 0) {
    throw new ConfigError('ppoLag.lagrange.threshold is null (calibrate d) but scoreValidation.fraction is 0: there is no validation split to calibrate on. Set one of them.');
  }
}

/**
 * PPO-Lagrangian's cost threshold d of a pipeline run: the user's `threshold`, or calibrated on the cost model's scores of the
 * validation split at `thresholdQuantile` (annotator labels; never gold or test data); logged either way.
 */
export function pipelineThreshold(lagrange: { threshold: number | null; thresholdQuantile: number }, costValidation: ScoreEval, progress: Progress): number {
  const threshold = lagrange.threshold ?? calibrateThreshold(costValidation, lagrange.thresholdQuantile);
  progress.log(
    `PPO-Lagrangian cost threshold d = ${threshold.toFixed(3)}` +
      (lagrange.threshold === null ? ` (calibrated on the validation split: safe mean ${costValidation.safeMean.toFixed(3)}, unsafe mean ${costValidation.unsafeMean.toFixed(3)}, by annotator labels)` : ' (set by the user)'),
  );
  return threshold;
}

/**
 * Holds out `round(fraction · n)` of `records` (at least one when fraction > 0 and n > 0), chosen
 * by `rng`; both parts keep the records' original order, so training sees its data as before.
 */
export function splitValidation<T>(records: readonly T[], fraction: number, rng: Rng): { train: T[]; validation: T[] } {
  const k = fraction > 0 && records.length > 0 ? Math.max(1, Math.round(fraction * records.length)) : 0;
  const held = new Set(rng.sample([...records.keys()], k));
  return { train: records.filter((_, i) => !held.has(i)), validation: records.filter((_, i) => held.has(i)) };
}
