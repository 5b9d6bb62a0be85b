// The validation split of the annotator-labelled training pairs and the cost threshold d calibrated on it.
export { calibrateThreshold } from '../algorithms/ppo-lag/threshold.js';
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
