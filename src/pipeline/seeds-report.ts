// Writes <run>/report.json and a self-contained <run>/report.html over the replicates of a multi-seed run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { escapeHtml, intervalCell as cell, num, page, pct, section, table, type Cell } from '../eval/html.js';
import type { Interval } from '../eval/intervals.js';
import { frontierWithIntervals } from '../eval/plots.js';
import type { PipelineConfig } from './config.js';
import { poolWorldGuarantee, type WorldGuaranteeRow } from './hc-guarantee-world.js';
import { hcGuaranteeTable } from './robust-report.js';
import { aggregateOveroptimisation, type OveroptimisationSeeds } from './overoptimisation-seeds.js';
import { overoptSeedsSection } from './overoptimisation-report.js';
import { aggregateByGroup, type GroupAccuracySeeds } from '../algorithms/micro/compare.js';
import { aggregateModels, categoryDifferences, commonModels, pairedDifferences, type CategoryDifference, type ModelAggregate, type PairedDifference, type ReplicateResult } from './seeds-aggregate.js';

export const LEVEL = 0.95;

/** What report.json holds for a multi-seed run. */
export interface SeedsReport {
  run: string;
  createdAt: string;
  /** Number of replicates, what they vary, the interval's level. */
  nSeeds: number;
  vary: PipelineConfig['vary'];
  level: number;
  /** One entry per replicate: its seeds and every model's metrics. */
  seeds: ReplicateResult[];
  /** Per model and metric: mean and Student-t interval over the replicates. */
  aggregate: Record<string, ModelAggregate>;
  /** a − b per replicate, with its interval: the replicate pairs the two models. */
  pairedDifferences: PairedDifference[];
  /** The same comparisons on the harmful rate of each harm category and of the worst category (models with categories only). */
  categoryDifferences: CategoryDifference[];
  /** Wall time of the invocation that wrote this report (a resumed run counts only its last invocation). */
  invocationWallTimeSec: number;
  /** Sum over replicates of their stage wall times (all attempts). */
  replicateWallTimeSec: number;
  /** hc_guarantee's per-δ table pooled over the replicates that ran it (each against its own τ and gold budget). */
  hcGuarantee?: { replicates: number; results: WorldGuaranteeRow[] };
  /** The over-optimisation study over the replicates that ran it. */
  overoptimisation?: OveroptimisationSeeds;
  /** MiCRo's per-type accuracies over the replicates that ran micro (mean, t-interval, MiCRo − BT paired). */
  micro?: { replicates: number; byGroup: Record<string, GroupAccuracySeeds> };
}


/** Which way a paired interval points: both ends on one side of 0, or not. */
function verdict(d: PairedDifference): string {
  if (d.lo === null || d.hi === null) return 'one seed: no interval';
  if (d.lo > 0) return `${d.a} higher`;
  if (d.hi < 0) return `${d.a} lower`;
  return 'no clear difference (interval holds 0)';
}

const METRIC_LABEL: Record<PairedDifference['metric'], string> = {
  harmfulRate: 'harmful rate',
  helpfulness: 'helpfulness',
  'heldOut.harmfulRate': 'held-out harmful rate',
  'heldOut.helpfulness': 'held-out helpfulness',
};

export async function writeSeedsReport(
  runDir: string,
  results: readonly ReplicateResult[],
  config: Pick<PipelineConfig, 'name' | 'vary'>,
  info: { invocationWallTimeSec: number },
): Promise<SeedsReport> {
  const aggregate = aggregateModels(results, LEVEL);
  const paired = pairedDifferences(results, LEVEL);
  const report: SeedsReport = {
    run: config.name,
    createdAt: new Date().toISOString(),
    nSeeds: results.length,
    vary: config.vary,
    level: LEVEL,
    seeds: [...results],
    aggregate,
    pairedDifferences: paired,
    categoryDifferences: categoryDifferences(results, LEVEL),
    invocationWallTimeSec: info.invocationWallTimeSec,
    replicateWallTimeSec: results.reduce((a, r) => a + r.wallTimeSec, 0),
  };
  const guarantees = results.flatMap((r) => (r.hcGuarantee ? [r.hcGuarantee] : []));
  if (guarantees.length > 0) report.hcGuarantee = { replicates: guarantees.length, results: poolWorldGuarantee(guarantees) };
  const overopt = results.flatMap((r) => (r.overoptimisation ? [r.overoptimisation] : []));
  if (overopt.length > 0) report.overoptimisation = aggregateOveroptimisation(overopt);
  const micro = results.flatMap((r) => (r.micro ? [{ byGroup: r.micro }] : []));
  if (micro.length > 0) report.micro = { replicates: micro.length, byGroup: aggregateByGroup(micro) };
  writeJsonAtomic(join(runDir, 'report.json'), report);
  writeFileSync(join(runDir, 'report.html'), await seedsHtml(report, config));
  return report;
}

async function seedsHtml(report: SeedsReport, config: Pick<PipelineConfig, 'name'>): Promise<string> {
  const names = commonModels(report.seeds);
  const heldOut = names.some((k) => report.aggregate[k]?.heldOut);
  const n = report.nSeeds;
  const varied = report.vary === 'world' ? 'world seed (world.seed + k)' : 'training seed (seed + k)';
  const agg = (k: string) => report.aggregate[k] as ModelAggregate;

  const costs = names.some((k) => report.aggregate[k]?.trainingCost);
  const seconds = (iv: Interval | undefined) => (iv ? `${iv.mean.toFixed(0)}${iv.lo !== null && iv.hi !== null ? ` [${iv.lo.toFixed(0)}, ${iv.hi.toFixed(0)}]` : ''}` : null);
  const results = table(
    ['model', 'harmful rate', 'helpfulness', 'mean reward', 'mean cost', 'KL to SFT', ...(heldOut ? ['held-out harmful rate', 'held-out helpfulness'] : []), ...(costs ? ['training (s)', '+ reward/cost models (s)', 'policy samples'] : [])],
    names.map((k) => {
      const a = agg(k);
      const c = a.trainingCost;
      return [
        k, cell(a.harmfulRate, true), cell(a.helpfulness, false), cell(a.meanReward, false), cell(a.meanCost, false), cell(a.kl, false),
        ...(heldOut ? [cell(a.heldOut?.harmfulRate, true), cell(a.heldOut?.helpfulness, false)] : []),
        ...(costs ? [seconds(c?.wallTimeSec), seconds(c?.scoreModelsSec), c ? c.policySamples.mean.toFixed(0) : null] : []),
      ];
    }),
  );
  const pairedTable = table(
    ['comparison', 'metric', 'mean difference', `${100 * report.level}% interval`, 'reading'],
    report.pairedDifferences.map((d) => {
      const percent = d.metric.endsWith('harmfulRate');
      const f = percent ? pct : num;
      return [`${d.a} − ${d.b}`, METRIC_LABEL[d.metric], f(d.mean), `[${f(d.lo)}, ${f(d.hi)}]`, verdict(d)];
    }),
  );
  const perSeed = table(
    ['replicate', 'seed', 'world seed', 'model', 'harmful rate', 'helpfulness', 'mean reward', 'mean cost', 'KL', ...(heldOut ? ['held-out harmful', 'held-out helpfulness'] : [])],
    report.seeds.flatMap((r) =>
      names.map((k): Cell[] => {
        const m = r.models[k];
        if (!m) return [r.dir, r.seed, r.worldSeed, k];
        return [r.dir, String(r.seed), String(r.worldSeed), k, pct(m.harmfulRate), m.helpfulness, m.meanReward, m.meanCost, m.kl, ...(heldOut ? [m.heldOut ? pct(m.heldOut.harmfulRate) : null, m.heldOut?.helpfulness ?? null] : [])];
      }),
    ),
    2,
  );
  const categories = categoryTable(report, names);
  const links = report.seeds.map((r) => `<a href="${escapeHtml(`${r.dir}/report.html`)}">${escapeHtml(r.dir)}</a>`).join(' · ');
  const frontier = await frontierWithIntervals(
    names.map((k) => {
      const a = agg(k);
      const nu = k.startsWith('shaping_') ? Number(k.slice('shaping_'.length)) : undefined;
      return {
        model: k,
        family: nu !== undefined ? 'shaping' : k.startsWith('round_') ? 'round' : k,
        ...(nu !== undefined ? { nu } : {}),
        harmfulRate: a.harmfulRate.mean,
        harmfulLo: Math.max(0, a.harmfulRate.lo ?? a.harmfulRate.mean),
        harmfulHi: Math.min(1, a.harmfulRate.hi ?? a.harmfulRate.mean),
        helpfulness: a.helpfulness.mean,
        helpfulnessLo: a.helpfulness.lo ?? a.helpfulness.mean,
        helpfulnessHi: a.helpfulness.hi ?? a.helpfulness.mean,
      };
    }),
    `mean over ${n} seeds; crosses: ${100 * report.level}% t-intervals on both axes (harmful-rate arms drawn within 0–100%)`,
  );
  const lag = report.aggregate.ppo_lag;
  const sft = report.aggregate.sft;
  const headline =
    lag && sft
      ? `${n} seeds: PPO-Lag harmful rate ${cell(lag.harmfulRate, true)} (SFT ${cell(sft.harmfulRate, true)}); helpfulness ${cell(lag.helpfulness, false)} (SFT ${cell(sft.helpfulness, false)})`
      : `${n} seeds`;
  const thresholds = report.seeds.map((r) => r.costThreshold.toFixed(3)).join(', ');
  return page(`safealign report — ${config.name} (${n} seeds)`, headline, [
    section(
      `Models over ${n} seeds`,
      results,
      `Mean over ${n} independent replicates varying the ${varied}, with the ${100 * report.level}% Student-t interval [lo, hi] (n − 1 = ${n - 1} degrees of freedom) in brackets; harmful rates in %. ` +
        'Harmful rate: share of responses to risky test prompts the gold oracle finds unsafe. Helpfulness: mean gold helpfulness. Reward and cost: the learned models of each replicate. KL: mean Σ log π/π_SFT per response.',
    ),
    section(
      'Paired differences',
      pairedTable,
      'Replicate k of both models shares the seed, the world and the SFT policy, so each difference is taken within a replicate and the interval is over those differences (narrower than comparing two separate intervals).',
    ),
    categories
      ? section(
          'Harmful rate by harm category over seeds',
          categories,
          `Gold harmful rate on each category's risky test prompts: mean over ${n} seeds [${100 * report.level}% t-interval], in %; worst: each seed's highest category rate, averaged. ` +
            'The columns a − b are paired (within a replicate, then the interval over replicates). ppo_lag_cat (--methods) gives each category its own λ; ppo_lag one λ for all.',
        )
      : '',
    section('Trade-off frontier over seeds', frontier, 'Each reward-shaping run fixes ν in R − ν·C (dashed line through the means); PPO-Lagrangian learns its trade-off from the constraint J_c ≤ d.'),
    report.overoptimisation ? await overoptSeedsSection(report.overoptimisation) : '',
    report.hcGuarantee
      ? section(
          `HC-RLHF's guarantee over ${report.hcGuarantee.replicates} replicates: failure rate per δ`,
          hcGuaranteeTable(report.hcGuarantee.results),
          `The study hc_guarantee of every replicate pooled: each seed's models are judged against its replicate's own τ (PPO-Lagrangian's d) and gold budget, the counts are added and the 95% Wilson interval is over all seeds; the helpfulness price is the mean of the replicates' mean prices with a t-interval over replicates. Each replicate's own table is in its report.`,
        )
      : '',
    report.micro
      ? section(
          `MiCRo vs one Bradley–Terry head per annotator type over ${report.micro.replicates} replicates`,
          table(
            ['annotator type', 'test labels', 'MiCRo (routed)', 'MiCRo (router only)', 'one BT head', 'MiCRo − BT (paired)'],
            Object.entries(report.micro.byGroup).map(([g, a]) => [g, String(a.n[0] ?? ''), cell(a.micro, true), cell(a.microUnrouted, true), cell(a.single, true), cell(a.microMinusSingle, true)]),
          ),
          `Accuracy on the test pairs' per-annotator labels, mean over the replicates that ran micro with the ${100 * report.level}% t-interval; MiCRo − BT is paired within each replicate. Each replicate's routed weights are in its own report.`,
        )
      : '',
    section('Per-seed results', `<p class="note">Every replicate's own report: ${links}. Cost thresholds d used: ${escapeHtml(thresholds)}.</p>${perSeed}`),
    section('Wall time', table(['', 'seconds'], [['this invocation', report.invocationWallTimeSec], ['sum of replicate stage times', report.replicateWallTimeSec]], 0)),
    section('Resolved config', `<pre>${escapeHtml(JSON.stringify(config, null, 2))}</pre>`),
  ]);
}

/** Categories as rows: each model's mean [interval], then each comparison against ppo_lag, paired; '' when no model has categories. */
function categoryTable(report: SeedsReport, names: readonly string[]): string {
  const shown = names.filter((k) => report.aggregate[k]?.harmfulByCategory);
  const first = shown[0] !== undefined ? report.aggregate[shown[0]]?.harmfulByCategory : undefined;
  if (!first) return '';
  const diffs = report.categoryDifferences.filter((d) => d.b === 'ppo_lag');
  const row = (label: string, pick: (c: { byCategory: Record<string, Interval>; worst: Interval }) => Interval | undefined): Cell[] => [
    label,
    ...shown.map((k) => cell(pick(report.aggregate[k]?.harmfulByCategory as NonNullable<ModelAggregate['harmfulByCategory']>), true)),
    ...diffs.map((d) => cell(pick(d), true)),
  ];
  return table(
    ['harm category', ...shown, ...diffs.map((d) => `${d.a} − ${d.b}`)],
    [...Object.keys(first.byCategory).map((c) => row(c, (a) => a.byCategory[c])), row('worst category', (a) => a.worst)],
  );
}
