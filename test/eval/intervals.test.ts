// Student-t quantiles and intervals against mpmath goldens (reference/intervals.py) and printed-table values.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { logGamma, pairedDifference, studentTCdf, studentTQuantile, tInterval } from '../../src/eval/intervals.js';

interface Golden {
  quantiles: { p: number; df: number; q: number }[];
  cdfs: { t: number; df: number; cdf: number }[];
  intervals: { values: number[]; mean: number; lo: number; hi: number; n: number }[];
  paired: { a: number[]; b: number[]; mean: number; lo: number; hi: number; n: number };
}
const golden = JSON.parse(readFileSync(new URL('../../reference/golden/intervals.json', import.meta.url), 'utf8')) as Golden;

describe('Student-t', () => {
  it('quantiles match the printed table (t_{0.975, df})', () => {
    const table: [number, number][] = [[1, 12.706], [2, 4.303], [3, 3.182], [4, 2.776], [5, 2.571], [9, 2.262], [29, 2.045]];
    for (const [df, q] of table) expect(studentTQuantile(0.975, df)).toBeCloseTo(q, 3);
    expect(studentTQuantile(0.975, 1e6)).toBeCloseTo(1.96, 2);
  });

  it('quantiles and CDF match mpmath to 1e-9 relative', () => {
    for (const { p, df, q } of golden.quantiles) {
      expect(Math.abs(studentTQuantile(p, df) - q) / q, `p=${p} df=${df}`).toBeLessThan(1e-9);
      expect(studentTQuantile(1 - p, df)).toBeCloseTo(-q, 9);
    }
    for (const { t, df, cdf } of golden.cdfs) expect(Math.abs(studentTCdf(t, df) - cdf), `t=${t} df=${df}`).toBeLessThan(1e-12);
  });

  it('logGamma matches known values', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 10);
  });

  it('rejects p outside (0, 1) and df <= 0', () => {
    expect(() => studentTQuantile(1, 3)).toThrow(RangeError);
    expect(() => studentTQuantile(0.5, 0)).toThrow(RangeError);
  });
});

describe('intervals over seeds', () => {
  it('t-interval by hand: [1, 2] -> 1.5 ± 12.7062 · 0.5', () => {
    const r = tInterval([1, 2]);
    expect(r.mean).toBe(1.5);
    expect(r.lo).toBeCloseTo(1.5 - 6.3531, 3);
    expect(r.hi).toBeCloseTo(1.5 + 6.3531, 3);
    expect(r.n).toBe(2);
  });

  it('t-intervals match mpmath (the issue: PPO-Lag 5.9 / 2.6 / 3.3% -> mean 3.9%, upper end 8.25%)', () => {
    for (const g of golden.intervals) {
      const r = tInterval(g.values);
      expect(r.mean).toBeCloseTo(g.mean, 12);
      expect(r.lo).toBeCloseTo(g.lo, 10);
      expect(r.hi).toBeCloseTo(g.hi, 10);
    }
  });

  it('one value has a mean and no interval', () => {
    expect(tInterval([0.3])).toEqual({ mean: 0.3, lo: null, hi: null, n: 1 });
  });

  it('paired difference is the interval of per-replicate differences, narrower than unpaired when seeds move both', () => {
    const g = golden.paired;
    const d = pairedDifference(g.a, g.b);
    expect(d.mean).toBeCloseTo(g.mean, 12);
    expect(d.lo).toBeCloseTo(g.lo, 10);
    expect(d.hi).toBeCloseTo(g.hi, 10);
    // hand: a = [2, 4, 6], b = [1, 3, 5.5] -> d = [1, 1, 0.5], mean 5/6, sd 0.288675, se 0.166667, t 4.302653
    const h = pairedDifference([2, 4, 6], [1, 3, 5.5]);
    expect(h.mean).toBeCloseTo(5 / 6, 12);
    expect(h.hi).toBeCloseTo(5 / 6 + 4.302653 * 0.1666667, 5);
    expect(() => pairedDifference([1, 2], [1])).toThrow(RangeError);
  });
});
