// The error RL raises when a quantity stops being finite, and the check that raises it.

/** RL produced non-finite numbers: names the step and the quantity, so a run stops with a reason. */
export class RlDivergedError extends Error {
  override name = 'RlDivergedError';
}

/** Throws RlDivergedError naming `what`, the 1-based `step` and what to do (`hint`) if any value is not finite. */
export function assertFinite(what: string, values: readonly number[], step: number, hint: string): void {
  if (!values.every(Number.isFinite)) {
    throw new RlDivergedError(`RL step ${step}: ${what} is not finite (${values.filter((v) => !Number.isFinite(v)).length} of ${values.length} values). ${hint}`);
  }
}
