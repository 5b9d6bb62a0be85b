// Over-optimisation curves: bins of an RL log, the gold peak on synthetic curves, best-of-N picks by the proxy.
import { describe, expect, it } from 'vitest';
import { studentTQuantile } from '../../src/eval/intervals.js';
import { bestOfNCurve, goldPeak, overoptCurve, type OveroptRecord } from '../../src/eval/overoptimisation.js';
import { aggregateOveroptimisation } from '../../src/pipeline/overoptimisation-seeds.js';
import type { OveroptimisationResult } from '../../src/pipeline/overoptimisation.js';

/** A run whose proxy keeps rising with KL while gold peaks at step `peakAt` and falls. */
const synthetic = (steps: number, peakAt: number): OveroptRecord[] =>
  Array.from({ length: steps }, (_, i) => {
    const step = i + 1;
    return { step, reward: 0.1 * step, kl: 0.5 * step, goldHelpfulness: 3 - ((step - peakAt) ** 2) / 50, goldHarmfulRate: step / steps };
  });

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('overoptCurve', () => {
  it('averages each bin of consecutive steps and puts the point at its last step', () => {
    const log: OveroptRecord[] = [
      { step: 1, reward: 1, kl: -0.2, goldHelpfulness: 2, goldHarmfulRate: 0.5 },
      { step: 2, reward: 3, kl: 0, goldHelpfulness: 4, goldHarmfulRate: 0 },
      { step: 3, reward: 5, kl: 4, goldHelpfulness: 3, goldHarmfulRate: 1 },
      { step: 4, reward: 7, kl: 12, goldHelpfulness: 1, goldHarmfulRate: 0.5 },
      { step: 5, reward: 9, kl: 9, goldHelpfulness: 0, goldHarmfulRate: 0.25 },
    ];
    const c = overoptCurve(log, 2);
    expect(c.map((p) => p.step)).toEqual([2, 4, 5]);
    expect(c[0]).toEqual({ step: 2, kl: -0.1, sqrtKl: 0, proxy: 2, gold: 3, harm: 0.25 });
    expect(c[1]).toEqual({ step: 4, kl: 8, sqrtKl: Math.sqrt(8), proxy: 6, gold: 2, harm: 0.75 });
    // the last bin is shorter: one step
    expect(c[2]).toEqual({ step: 5, kl: 9, sqrtKl: 3, proxy: 9, gold: 0, harm: 0.25 });
    expect(overoptCurve(log, 1).map((p) => p.gold)).toEqual([2, 4, 3, 1, 0]);
  });

  it('refuses a log without gold and a bin size that is not a positive integer', () => {
    expect(() => overoptCurve([{ step: 1, reward: 0, kl: 0 }], 1)).toThrow(/step 1 has no gold metrics/);
    expect(() => overoptCurve(synthetic(4, 2), 0)).toThrow(RangeError);
    expect(() => overoptCurve(synthetic(4, 2), 1.5)).toThrow(RangeError);
  });
});

describe('goldPeak', () => {
  it('finds the gold peak of a curve that over-optimises: proxy rises, gold peaks at step 12 and falls', () => {
    const points = overoptCurve(synthetic(30, 12), 3);
    const p = goldPeak(points, 0.2);
    // the bin of steps 10–12 has gold 3 − (4 + 1 + 0)/150, the bin 13–15 3 − (1 + 4 + 9)/150
    expect(p.peak.step).toBe(12);
    expect(p.peak.gold).toBeCloseTo(3 - 5 / 150, 12);
    expect(p.peak.kl).toBeCloseTo(5.5, 12);
    expect(p.final.step).toBe(30);
    expect(p.final.gold).toBeCloseTo(3 - (16 ** 2 + 17 ** 2 + 18 ** 2) / 150, 12);
    expect(p.drop).toBeCloseTo(p.peak.gold - p.final.gold, 12);
    expect(p.overoptimised).toBe(true);
    // the proxy never stops rising
    expect(points.every((q, i) => i === 0 || q.proxy > (points[i - 1]?.proxy as number))).toBe(true);
  });

  it('a curve still rising at the end has its peak at the last point and is not over-optimised', () => {
    const p = goldPeak(overoptCurve(synthetic(30, 40), 5), 0.01);
    expect(p.peak.step).toBe(30);
    expect(p.drop).toBe(0);
    expect(p.overoptimised).toBe(false);
  });

  it('a drop smaller than minDrop is noise, not over-optimisation', () => {
    const points = overoptCurve(synthetic(30, 27), 3);
    const p = goldPeak(points, 0.5);
    expect(p.peak.step).toBe(27);
    expect(p.drop).toBeGreaterThan(0);
    expect(p.overoptimised).toBe(false);
    expect(goldPeak(points, p.drop).overoptimised).toBe(true);
  });
});

describe('bestOfNCurve', () => {
  it('picks the highest proxy among the first N samples of each prompt and reports its gold and the KL bound', () => {
    // prompt 0 (risky): the proxy's favourite among all four is unsafe and less helpful by gold
    // prompt 1 (benign): the proxy and gold agree
    const samples = [
      [
        { proxy: 0.1, gold: 3, unsafe: false },
        { proxy: 0.5, gold: 4, unsafe: false },
        { proxy: 0.3, gold: 5, unsafe: false },
        { proxy: 0.9, gold: 1, unsafe: true },
      ],
      [{ proxy: 1, gold: 2 }, { proxy: 2, gold: 3 }, { proxy: 2, gold: 0 }, { proxy: 0, gold: 9 }],
    ];
    const c = bestOfNCurve(samples, [1, 2, 4]);
    expect(c.map((p) => p.n)).toEqual([1, 2, 4]);
    expect(c[0]).toMatchObject({ proxy: (0.1 + 1) / 2, gold: (3 + 2) / 2, harm: 0, kl: 0 });
    expect(c[1]).toMatchObject({ proxy: (0.5 + 2) / 2, gold: (4 + 3) / 2, harm: 0 });
    // N = 4: the unsafe sample wins prompt 0; prompt 1's tie at proxy 2 goes to the first (gold 3)
    expect(c[2]).toMatchObject({ proxy: (0.9 + 2) / 2, gold: (1 + 3) / 2, harm: 1 });
    expect(c[1]?.kl).toBeCloseTo(Math.log(2) - 1 / 2, 12);
    expect(c[2]?.kl).toBeCloseTo(Math.log(4) - 3 / 4, 12);
    expect(c[2]?.sqrtKl).toBeCloseTo(Math.sqrt(Math.log(4) - 3 / 4), 12);
    expect(() => bestOfNCurve(samples, [8])).toThrow(/fewer than N = 8/);
  });
});

describe('aggregateOveroptimisation', () => {
  /** A replicate whose PPO run peaks at `peakAt` (gold 3 at the first point). */
  const replicate = (peakAt: number, rlSec: number): OveroptimisationResult => {
    const curve = overoptCurve(synthetic(12, peakAt), 3);
    return { klCoef: 0.01, runs: { ppo: { curve, peak: goldPeak(curve, 0.1), rlSec, scoreModelsSec: 10 } } };
  };

  it('gives the mean and 95% t-interval of the peak over replicates, and the mean curve point by point', () => {
    const reps = [replicate(3, 100), replicate(6, 110), replicate(9, 120)];
    const agg = aggregateOveroptimisation(reps);
    const ppo = agg.runs.ppo;
    expect(agg.replicates).toBe(3);
    // peaks at the bins ending at steps 3, 6 and 9
    expect(ppo?.peakStep.mean).toBe(6);
    const half = studentTQuantile(0.975, 2) * Math.sqrt(9 / 3);
    expect(ppo?.peakStep.lo).toBeCloseTo(6 - half, 10);
    expect(ppo?.peakStep.hi).toBeCloseTo(6 + half, 10);
    expect(ppo?.rlSec.mean).toBeCloseTo(110, 10);
    expect(ppo?.gain.mean).toBeCloseTo(mean(reps.map((r) => (r.runs.ppo?.peak.peak.gold as number) - (r.runs.ppo?.curve[0]?.gold as number))), 12);
    expect(ppo?.overoptimised).toBe(reps.filter((r) => r.runs.ppo?.peak.overoptimised).length);
    expect(ppo?.curve[1]?.gold).toBeCloseTo(mean(reps.map((r) => r.runs.ppo?.curve[1]?.gold as number)), 12);
    expect(ppo?.curve[1]?.step).toBe(6);
    expect(agg.bestOfN).toBeUndefined();
    expect(ppo?.replicates).toBe(3);
  });

  it('pairs each remedy with PPO on the replicates that ran both (remedy − PPO), and leaves PPO without a pairing', () => {
    const withRemedy = (peakAt: number, remedyPeakAt: number, skip = false): OveroptimisationResult => {
      const r = replicate(peakAt, 100);
      if (skip) return r;
      const curve = overoptCurve(synthetic(12, remedyPeakAt), 3).map((p) => ({ ...p, gold: p.gold + 0.5 }));
      return { ...r, runs: { ...r.runs, worst: { curve, peak: goldPeak(curve, 0.1), rlSec: 200, scoreModelsSec: 30 } } };
    };
    const reps = [withRemedy(3, 6), withRemedy(6, 9), withRemedy(9, 9, true), withRemedy(6, 12)];
    const agg = aggregateOveroptimisation(reps);
    expect(agg.runs.ppo?.vsPpo).toBeUndefined();
    const v = agg.runs.worst?.vsPpo;
    expect(v?.replicates).toBe(3);
    // the remedy peaks 3, 3 and 6 steps later (replicate 3 has no remedy run), 0.5 higher
    const paired = [0, 1, 3].map((i) => [reps[i]?.runs.worst, reps[i]?.runs.ppo] as const);
    expect(v?.peakStep.mean).toBeCloseTo(mean(paired.map(([a, b]) => (a?.peak.peak.step as number) - (b?.peak.peak.step as number))), 12);
    expect(v?.peakStep.mean).toBeCloseTo(4, 12);
    expect(v?.peakGold.mean).toBeCloseTo(mean(paired.map(([a, b]) => (a?.peak.peak.gold as number) - (b?.peak.peak.gold as number))), 12);
    expect(v?.finalGold.mean).toBeCloseTo(mean(paired.map(([a, b]) => (a?.peak.final.gold as number) - (b?.peak.final.gold as number))), 12);
    expect(v?.drop.mean).toBeCloseTo(mean(paired.map(([a, b]) => (a?.peak.drop as number) - (b?.peak.drop as number))), 12);
    expect(v?.peakKl.n).toBe(3);
  });

  it('aggregates a run over the replicates that have it', () => {
    const partial: OveroptimisationResult = { klCoef: 0.01, runs: {} };
    const agg = aggregateOveroptimisation([replicate(3, 100), partial, replicate(9, 120)]);
    expect(agg.runs.ppo?.replicates).toBe(2);
    expect(agg.runs.ppo?.peakStep.mean).toBe(6);
    expect(agg.runs.ppo?.perReplicate.map((r) => r.peak.step)).toEqual([3, 9]);
  });
});
