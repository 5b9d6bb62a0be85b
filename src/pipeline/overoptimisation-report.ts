// The report's over-optimisation section: proxy reward, gold helpfulness and gold harm against √KL per run and for best-of-N, and each run's gold peak and compute cost.
import { intervalCell, section, table } from '../eval/html.js';
import type { OveroptimisationSeeds } from './overoptimisation-seeds.js';
import { trainingCurves, type CurvePoint } from '../eval/plots.js';
import type { OveroptimisationResult } from './overoptimisation.js';

const METRICS = ['gold helpfulness', 'proxy reward', 'gold harmful rate'];

/** What a line of the plot needs of its points. */
type PlotPoint = { sqrtKl: number; gold: number; proxy: number; harm: number };

/** The lines of a result: one per run, and 'best-of-N' when it ran. */
export function overoptLines(result: OveroptimisationResult): Record<string, readonly PlotPoint[]> {
  return {
    ...Object.fromEntries(Object.entries(result.runs).map(([k, r]) => [k, r.curve])),
    ...(result.bestOfN ? { 'best-of-N': result.bestOfN.curve } : {}),
  };
}

/** Curve points with √KL as the x axis, one line per key. */
export function overoptPlotPoints(lines: Record<string, readonly PlotPoint[]>): CurvePoint[] {
  return Object.entries(lines).flatMap(([method, curve]) =>
    curve.flatMap((p) => [
      { method, step: p.sqrtKl, metric: 'gold helpfulness', value: p.gold },
      { method, step: p.sqrtKl, metric: 'proxy reward', value: p.proxy },
      { method, step: p.sqrtKl, metric: 'gold harmful rate', value: p.harm },
    ]),
  );
}

/** The over-optimisation curves against √KL (Gao et al. 2023's axes). */
export function overoptPlot(lines: Record<string, readonly PlotPoint[]>, title = 'Reward over-optimisation: proxy reward keeps rising with KL to SFT while gold helpfulness peaks and falls'): Promise<string> {
  return trainingCurves(overoptPlotPoints(lines), METRICS, { title, step: '√KL to SFT (√nats)' });
}

/** The section: plot, one row per run (its gold peak, the end, the cost), best-of-N per N. */
export async function overoptSection(result: OveroptimisationResult): Promise<string> {
  const runs = table(
    ['run', 'gold peak at step', 'KL at peak', 'gold at peak', 'proxy at peak', 'KL at end', 'gold at end', 'proxy at end', 'gold drop', 'over-optimised', 'harmful at peak → end', 'RL (s)', '+ reward model(s) (s)'],
    Object.entries(result.runs).map(([k, r]) => {
      const { peak, final } = r.peak;
      return [k, String(peak.step), peak.kl, peak.gold, peak.proxy, final.kl, final.gold, final.proxy, r.peak.drop, r.peak.overoptimised ? 'yes' : 'no', `${(100 * peak.harm).toFixed(1)}% → ${(100 * final.harm).toFixed(1)}%`, r.rlSec.toFixed(0), r.scoreModelsSec.toFixed(0)];
    }),
  );
  const bon = result.bestOfN;
  const bonTable = bon
    ? table(
        ['N', 'KL bound (nats)', 'proxy reward of the picks', 'gold helpfulness', 'gold harmful rate'],
        bon.curve.map((p) => [String(p.n), p.kl, p.proxy, p.gold, Number.isNaN(p.harm) ? null : p.harm]),
      )
    : '';
  return [
    section(
      'Reward over-optimisation',
      (await overoptPlot(overoptLines(result))) + runs,
      `Each run trains from the SFT policy at β = ${result.klCoef} (low on purpose) and logs, per RL step, the mean proxy reward (the reward it optimises: the reward model, the ensemble's reduction or WARM), the gold helpfulness and gold harmful rate of its own rollouts (judged after the step's update; never a training signal) and their KL to SFT; a point is the mean over a bin of steps. ppo_lag keeps PPO-Lagrangian's cost constraint; mean, worst, uncertainty, robust and warm are PPO on the ensemble's reductions and on its weight average. Over-optimised: gold ends at least the configured drop below its peak. Cost: the run's wall time and that of the reward model(s) it needs.`,
    ),
    bon
      ? section(
          'Best-of-N by the reward model',
          bonTable,
          `${bon.prompts} test prompts, the best of the first N of ${Math.max(...bon.curve.map((p) => p.n))} SFT samples by the reward model alone (no cost rule: Gao et al.'s set-up); KL is the analytic bound log N − (N − 1)/N; best-of-N is the line of that name in the plot above. Gold peaks at N = ${bon.peak.peak.n}.`,
        )
      : '',
  ].join('');
}

/** The section over replicates: the mean curves, and per run its peak, end and fall with t-intervals and its paired difference to PPO. */
export async function overoptSeedsSection(agg: OveroptimisationSeeds): Promise<string> {
  const iv = (i: Parameters<typeof intervalCell>[0]) => intervalCell(i, false);
  const rows = Object.entries(agg.runs).map(([k, r]) => [
    `${k} (${r.replicates})`,
    iv(r.peakStep),
    iv(r.peakKl),
    iv(r.peakGold),
    iv(r.finalGold),
    iv(r.drop),
    `${r.overoptimised} / ${r.replicates}`,
    r.vsPpo ? iv(r.vsPpo.peakGold) : null,
    r.vsPpo ? iv(r.vsPpo.finalGold) : null,
    iv(r.rlSec),
  ]);
  const lines = { ...Object.fromEntries(Object.entries(agg.runs).map(([k, r]) => [k, r.curve])), ...(agg.bestOfN ? { 'best-of-N': agg.bestOfN.curve } : {}) };
  return section(
    `Reward over-optimisation over ${agg.replicates} replicates`,
    (await overoptPlot(lines, 'Over-optimisation, mean curves over the replicates: proxy reward, gold helpfulness and gold harm against √KL to SFT')) +
      table(['run (replicates)', 'gold peak at step', 'KL at peak', 'gold at peak', 'gold at end', 'gold drop', 'over-optimised', '− PPO: gold at peak (paired)', '− PPO: gold at end (paired)', 'RL (s)'], rows),
    `Means over the replicates that ran each run, 95% t-intervals in brackets; − PPO: the run minus plain PPO within each replicate, the interval over those differences. ${agg.bestOfN ? `Best-of-N's gold peaks at N = ${agg.bestOfN.peakN.mean.toFixed(1)} on average. ` : ''}Each replicate's own curves and best-of-N table are in its report.`,
  );
}
