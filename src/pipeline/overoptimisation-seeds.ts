// Over-optimisation over replicates: each run's gold peak (step, KL, gold), its fall and its cost as means with 95% t-intervals, and the mean curves.
import { pairedDifference, tInterval, type Interval } from '../eval/intervals.js';
import type { BonPoint, OveroptPoint } from '../eval/overoptimisation.js';
import type { OveroptimisationResult } from './overoptimisation.js';

/** One run's numbers over the replicates. */
export interface OveroptAggregate {
  /** Replicates that ran it (a run missing from a replicate is aggregated over the others). */
  replicates: number;
  peakStep: Interval;
  peakKl: Interval;
  peakGold: Interval;
  peakProxy: Interval;
  finalKl: Interval;
  finalGold: Interval;
  finalProxy: Interval;
  drop: Interval;
  /** Gold at the peak minus the SFT policy's gold (the first point's): how much the run gained before it over-optimised. */
  gain: Interval;
  /** Replicates in which the run over-optimised (gold fell at least minDrop after its peak). */
  overoptimised: number;
  rlSec: Interval;
  scoreModelsSec: Interval;
  /** The curve averaged over replicates point by point (the replicates share the bins). */
  curve: OveroptPoint[];
  /** Each replicate's peak and end, in replicate order. */
  perReplicate: { peak: OveroptPoint; final: OveroptPoint }[];
  /**
   * This run minus plain PPO on the same replicates (those that ran both), paired by replicate: the gold peak, the KL and
   * step at it, the gold at the end and the fall. Absent for PPO itself and when no replicate ran both.
   */
  vsPpo?: { replicates: number; peakGold: Interval; peakKl: Interval; peakStep: Interval; finalGold: Interval; drop: Interval };
}

export interface OveroptimisationSeeds {
  replicates: number;
  runs: Record<string, OveroptAggregate>;
  bestOfN?: { peakN: Interval; peakGold: Interval; curve: BonPoint[] };
}

const meanOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Point-by-point mean of equally long curves. */
function meanCurve<P extends Record<string, number>>(curves: readonly (readonly P[])[]): P[] {
  const n = Math.min(...curves.map((c) => c.length));
  return Array.from({ length: n }, (_, i) => {
    const first = curves[0]?.[i] as P;
    return Object.fromEntries(Object.keys(first).map((k) => [k, meanOf(curves.map((c) => (c[i] as P)[k] as number))])) as P;
  });
}

/** Aggregates the over-optimisation results of replicates (same settings, other seeds); each run over the replicates that have it. */
export function aggregateOveroptimisation(results: readonly OveroptimisationResult[]): OveroptimisationSeeds {
  if (results.length === 0) throw new RangeError('aggregateOveroptimisation: no replicates');
  const names = [...new Set(results.flatMap((r) => Object.keys(r.runs)))];
  const runs: Record<string, OveroptAggregate> = {};
  for (const name of names) {
    const rs = results.map((r) => r.runs[name as keyof typeof r.runs]).filter((r): r is NonNullable<typeof r> => r !== undefined);
    const t = (f: (x: (typeof rs)[number]) => number) => tInterval(rs.map(f));
    runs[name] = {
      replicates: rs.length,
      peakStep: t((r) => r.peak.peak.step),
      peakKl: t((r) => r.peak.peak.kl),
      peakGold: t((r) => r.peak.peak.gold),
      peakProxy: t((r) => r.peak.peak.proxy),
      finalKl: t((r) => r.peak.final.kl),
      finalGold: t((r) => r.peak.final.gold),
      finalProxy: t((r) => r.peak.final.proxy),
      drop: t((r) => r.peak.drop),
      gain: t((r) => r.peak.peak.gold - (r.curve[0] as OveroptPoint).gold),
      overoptimised: rs.filter((r) => r.peak.overoptimised).length,
      rlSec: t((r) => r.rlSec),
      scoreModelsSec: t((r) => r.scoreModelsSec),
      curve: meanCurve(rs.map((r) => r.curve as unknown as Record<string, number>[])) as unknown as OveroptPoint[],
      perReplicate: rs.map((r) => ({ peak: r.peak.peak, final: r.peak.final })),
    };
    const both = results.flatMap((r) => {
      const run = r.runs[name as keyof typeof r.runs];
      return run && r.runs.ppo && name !== 'ppo' ? [[run, r.runs.ppo] as const] : [];
    });
    if (both.length > 0) {
      const d = (f: (x: (typeof rs)[number]) => number) => pairedDifference(both.map(([a]) => f(a)), both.map(([, b]) => f(b)));
      (runs[name] as OveroptAggregate).vsPpo = { replicates: both.length, peakGold: d((r) => r.peak.peak.gold), peakKl: d((r) => r.peak.peak.kl), peakStep: d((r) => r.peak.peak.step), finalGold: d((r) => r.peak.final.gold), drop: d((r) => r.peak.drop) };
    }
  }
  const bons = results.map((r) => r.bestOfN).filter((b): b is NonNullable<typeof b> => b !== undefined);
  const bestOfN =
    bons.length === results.length
      ? { peakN: tInterval(bons.map((b) => b.peak.peak.n)), peakGold: tInterval(bons.map((b) => b.peak.peak.gold)), curve: meanCurve(bons.map((b) => b.curve as unknown as Record<string, number>[])) as unknown as BonPoint[] }
      : undefined;
  return { replicates: results.length, runs, ...(bestOfN ? { bestOfN } : {}) };
}
