// Reward over-optimisation (Gao et al. 2023): proxy reward and gold scores against KL to SFT, binned from an RL log; the gold peak; best-of-N by the proxy.
import { bestOfNKl } from '../algorithms/best-of-n/rule.js';

/** The fields of an RL step record the curve reads (`RlLogRecord` has them; gold only when a judge was given). */
export interface OveroptRecord {
  step: number;
  /** Mean proxy reward (the score the policy optimises) of the step's rollouts. */
  reward: number;
  /** Mean Σ_t (log π − log π_SFT) of the step's rollouts. */
  kl: number;
  goldHelpfulness?: number;
  goldHarmfulRate?: number;
}

/** One point of the curve: the means over a bin of consecutive RL steps, at the bin's last step. */
export interface OveroptPoint {
  step: number;
  kl: number;
  /** √max(KL, 0): Gao et al.'s x axis (a sampled KL estimate can dip below 0 near the start). */
  sqrtKl: number;
  proxy: number;
  gold: number;
  /** Gold harmful rate of the bin's responses to risky prompts. */
  harm: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The curve of one run: the log cut into bins of `every` consecutive steps (the last bin may be shorter),
 * each bin's mean KL, proxy reward, gold helpfulness and gold harmful rate. Binning averages the noise of
 * one rollout batch (a few dozen responses) over `every` batches. Throws if a record lacks gold.
 */
export function overoptCurve(log: readonly OveroptRecord[], every: number): OveroptPoint[] {
  if (!Number.isInteger(every) || every < 1) throw new RangeError(`overoptCurve: bin size must be a positive integer (got ${every})`);
  const points: OveroptPoint[] = [];
  for (let start = 0; start < log.length; start += every) {
    const bin = log.slice(start, start + every);
    const gold = bin.map((r) => r.goldHelpfulness);
    const harm = bin.map((r) => r.goldHarmfulRate);
    if (gold.some((g) => g === undefined) || harm.some((h) => h === undefined)) {
      throw new RangeError(`overoptCurve: step ${bin[0]?.step} has no gold metrics (train with a gold judge to log them)`);
    }
    const kl = mean(bin.map((r) => r.kl));
    points.push({ step: (bin[bin.length - 1] as OveroptRecord).step, kl, sqrtKl: Math.sqrt(Math.max(kl, 0)), proxy: mean(bin.map((r) => r.reward)), gold: mean(gold as number[]), harm: mean(harm as number[]) });
  }
  return points;
}

/** Where gold peaks on a curve (an RL run's or best-of-N's), and how far it has fallen by the end. */
export interface GoldPeak<P extends { gold: number } = OveroptPoint> {
  /** The point with the highest gold (the first of equal ones). */
  peak: P;
  /** The last point. */
  final: P;
  /** peak.gold − final.gold (0 when the peak is the last point). */
  drop: number;
  /** Gold fell by at least `minDrop` after its peak while the run went on: over-optimised. */
  overoptimised: boolean;
}

/** The gold peak of `points` (in order of growing optimisation); over-optimised when gold ends at least `minDrop` below it. */
export function goldPeak<P extends { gold: number }>(points: readonly P[], minDrop: number): GoldPeak<P> {
  const final = points[points.length - 1];
  if (!final) throw new RangeError('goldPeak: the curve has no points');
  const peak = points.reduce((best, p) => (p.gold > best.gold ? p : best));
  const drop = peak.gold - final.gold;
  return { peak, final, drop, overoptimised: drop >= minDrop };
}

/** One sample of best-of-N: its proxy reward, gold helpfulness, and gold safety when the prompt is risky (undefined for a benign prompt). */
export interface BonSample {
  proxy: number;
  gold: number;
  unsafe?: boolean;
}

/** Best-of-N by the proxy reward at one N: the picks' mean proxy and gold, their gold harmful rate, and KL(best-of-N ‖ sampler). */
export interface BonPoint {
  n: number;
  kl: number;
  sqrtKl: number;
  proxy: number;
  gold: number;
  /** Share of the picks for risky prompts that gold finds unsafe (NaN without risky prompts). */
  harm: number;
}

/**
 * Gao et al.'s best-of-N: for each N, every prompt's pick is the sample with the highest proxy reward among
 * its first N (the first of equal ones), so the N are nested prefixes of one draw. `samples[p]` are prompt p's samples.
 */
export function bestOfNCurve(samples: readonly (readonly BonSample[])[], ns: readonly number[]): BonPoint[] {
  return ns.map((n) => {
    const picks = samples.map((s, p) => {
      if (s.length < n) throw new RangeError(`bestOfNCurve: prompt ${p} has ${s.length} samples, fewer than N = ${n}`);
      return s.slice(0, n).reduce((best, x) => (x.proxy > best.proxy ? x : best));
    });
    const risky = picks.filter((x) => x.unsafe !== undefined);
    const kl = bestOfNKl(n);
    return {
      n,
      kl,
      sqrtKl: Math.sqrt(kl),
      proxy: mean(picks.map((x) => x.proxy)),
      gold: mean(picks.map((x) => x.gold)),
      harm: risky.length ? risky.filter((x) => x.unsafe).length / risky.length : NaN,
    };
  });
}
