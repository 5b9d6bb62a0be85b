// Test helper: elementwise |actual - expected| <= atol + rtol·|expected|, with the first mismatch reported.
import { expect } from 'vitest';
import type { Tensor } from '../../src/torch/index.js';

export type Nested = number | boolean | null | Nested[];

/** Flattens nested arrays of numbers (or booleans) to numbers. */
export function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [Number(x)];
}

export function expectAllClose(actual: Tensor | number | readonly number[], expected: Nested | readonly number[], opts: { atol?: number; rtol?: number } = {}): void {
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-5;
  const a = typeof actual === 'number' ? [actual] : Array.isArray(actual) ? [...(actual as number[])] : [...(actual as Tensor).toFloat64Array()];
  const e = flat(expected as Nested);
  expect(a.length, 'number of elements').toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs((a[i] as number) - (e[i] as number));
    if (!(diff <= atol + rtol * Math.abs(e[i] as number))) {
      expect.fail(`element ${i}: got ${a[i]}, expected ${e[i]} (|diff| ${diff.toExponential(2)} > atol ${atol} + rtol ${rtol}·|expected|)`);
    }
  }
}
