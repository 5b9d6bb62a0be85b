// The cost threshold d calibrated from a cost model's scores on labelled validation responses.
import { ConfigError } from '../../config/schema-cli.js';
import type { ScoreEval } from '../score/train.js';

/**
 * Threshold d of the constraint J_c <= d from the cost model's scores on validation responses
 * labelled safe / unsafe by the annotators' majority:
 *   d = safeMean + quantile · (unsafeMean - safeMean).
 * Why this rule: J_c is the mean cost of a policy's responses. If a policy answers unsafely with
 * probability p and the cost model scores its safe and unsafe answers like those of the validation
 * set, J_c ≈ safeMean + p · (unsafeMean - safeMean); so d is the expected cost of a policy whose
 * unsafe share is `quantile`, i.e. `quantile` is the tolerated unsafe share.
 */
export function calibrateThreshold(costValidation: ScoreEval, quantile: number, remedy = 'Raise scoreValidation.fraction or set ppoLag.lagrange.threshold.'): number {
  const { safeMean, unsafeMean } = costValidation;
  if (!Number.isFinite(safeMean) || !Number.isFinite(unsafeMean)) {
    throw new ConfigError(
      `cannot calibrate the cost threshold d: the validation split has ${Number.isFinite(safeMean) ? 'no response labelled unsafe' : 'no response labelled safe'} ` +
        `(${costValidation.n} pairs). ${remedy}`,
    );
  }
  return safeMean + quantile * (unsafeMean - safeMean);
}
