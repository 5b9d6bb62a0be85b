// Aggregates replicate runs: every model metric's mean and 95% t-interval over seeds, and paired differences between models.
import { pairedDifference, tInterval, type Interval } from '../eval/intervals.js';
import { aggregateCategories, pairedCategoryDifferences, type CategoryAggregate } from '../eval/category-harm.js';
import type { PolicyEval } from './evaluate-policy.js';
import type { TrainingCost } from './run.js';
import type { WorldGuaranteeRow } from './hc-guarantee-world.js';
import type { MicroComparison } from '../algorithms/micro/compare.js';
import type { OveroptimisationResult } from './overoptimisation.js';

/** The gold and model-scored numbers of one policy in one replicate. */
export interface ModelMetrics {
  harmfulRate: number;
  helpfulness: number;
  meanReward: number;
  meanCost: number;
  kl: number;
  /** Gold metrics on held-out requests, when the world holds some out. */
  heldOut?: { harmfulRate: number; helpfulness: number };
  /** Gold harmful rate per harm category of the risky test prompts. */
  harmfulByCategory?: Record<string, number>;
  /** What training the model cost (trained methods only). */
  trainingCost?: TrainingCost;
}

/** Metrics aggregated over seeds for every model: `ModelMetrics` with an interval in place of each number. */
export interface ModelAggregate {
  harmfulRate: Interval;
  helpfulness: Interval;
  meanReward: Interval;
  meanCost: Interval;
  kl: Interval;
  heldOut?: { harmfulRate: Interval; helpfulness: Interval };
  /** Per harm category and for the worst one, when every replicate has categories. */
  harmfulByCategory?: CategoryAggregate;
  trainingCost?: { wallTimeSec: Interval; scoreModelsSec: Interval; policySamples: Interval };
}

/** One replicate as the aggregate report sees it. */
export interface ReplicateResult {
  /** k in seed_<k>. */
  replicate: number;
  /** Folder of the replicate inside the multi-seed run. */
  dir: string;
  /** Training seed (`seed`) and world seed (`world.seed`) of this replicate. */
  seed: number;
  worldSeed: number;
  models: Record<string, ModelMetrics>;
  /** PPO-Lagrangian cost threshold d the replicate used. */
  costThreshold: number;
  /** Sum of the replicate's stage wall times (over resumed attempts). */
  wallTimeSec: number;
  /** The study hc_guarantee's per-δ table (robust.hcGuarantee.results), when the replicate ran it. */
  hcGuarantee?: WorldGuaranteeRow[];
  /** MiCRo's and one BT head's accuracy per annotator type (robust.micro.byGroup), when the replicate ran micro. */
  micro?: MicroComparison['byGroup'];
  /** The over-optimisation study's curves and peaks, when the replicate ran it. */
  overoptimisation?: OveroptimisationResult;
}

/** A paired difference `a − b` of one metric over seeds (the same replicate pairs both models). */
export interface PairedDifference extends Interval {
  a: string;
  b: string;
  /** 'harmfulRate', 'helpfulness', 'heldOut.harmfulRate' or 'heldOut.helpfulness'. */
  metric: PairedMetric;
}

export const SCALAR_METRICS = ['harmfulRate', 'helpfulness', 'meanReward', 'meanCost', 'kl'] as const;
export const PAIRED_METRICS = ['harmfulRate', 'helpfulness', 'heldOut.harmfulRate', 'heldOut.helpfulness'] as const;
export type PairedMetric = (typeof PAIRED_METRICS)[number];

/** The metrics of one evaluated policy that the aggregate keeps. */
export function modelMetrics(e: Pick<PolicyEval, 'harmfulRate' | 'helpfulness' | 'meanReward' | 'meanCost' | 'kl' | 'heldOut' | 'harmfulByCategory'>, trainingCost?: TrainingCost): ModelMetrics {
  const m: ModelMetrics = { harmfulRate: e.harmfulRate, helpfulness: e.helpfulness, meanReward: e.meanReward, meanCost: e.meanCost, kl: e.kl };
  if (e.heldOut) m.heldOut = { harmfulRate: e.heldOut.harmfulRate, helpfulness: e.heldOut.helpfulness };
  if (e.harmfulByCategory) m.harmfulByCategory = Object.fromEntries(Object.entries(e.harmfulByCategory).map(([k, c]) => [k, c.harmfulRate]));
  if (trainingCost) m.trainingCost = trainingCost;
  return m;
}

/** A metric's value by path, undefined where the replicate has none (no held-out set). */
export function metricValue(m: ModelMetrics, metric: PairedMetric | (typeof SCALAR_METRICS)[number]): number | undefined {
  if (metric === 'heldOut.harmfulRate') return m.heldOut?.harmfulRate;
  if (metric === 'heldOut.helpfulness') return m.heldOut?.helpfulness;
  return m[metric];
}

/** Model keys present in every replicate, in the first replicate's order. */
export function commonModels(results: readonly ReplicateResult[]): string[] {
  const first = results[0];
  if (!first) return [];
  return Object.keys(first.models).filter((k) => results.every((r) => r.models[k] !== undefined));
}

/** Per model: mean and t-interval over replicates of every metric (held-out only when every replicate has it). */
export function aggregateModels(results: readonly ReplicateResult[], level = 0.95): Record<string, ModelAggregate> {
  const out: Record<string, ModelAggregate> = {};
  for (const key of commonModels(results)) {
    const ms = results.map((r) => r.models[key] as ModelMetrics);
    const over = (f: (m: ModelMetrics) => number) => tInterval(ms.map(f), level);
    const agg: ModelAggregate = {
      harmfulRate: over((m) => m.harmfulRate),
      helpfulness: over((m) => m.helpfulness),
      meanReward: over((m) => m.meanReward),
      meanCost: over((m) => m.meanCost),
      kl: over((m) => m.kl),
    };
    const held = ms.map((m) => m.heldOut);
    if (held.every((h) => h !== undefined)) {
      agg.heldOut = { harmfulRate: tInterval(held.map((h) => h.harmfulRate), level), helpfulness: tInterval(held.map((h) => h.helpfulness), level) };
    }
    const byCategory = categoryRates(ms);
    if (byCategory) agg.harmfulByCategory = aggregateCategories(byCategory, level);
    const costs = ms.map((m) => m.trainingCost);
    if (costs.every((c) => c !== undefined)) {
      const overCost = (f: (c: TrainingCost) => number) => tInterval(costs.map(f), level);
      agg.trainingCost = { wallTimeSec: overCost((c) => c.wallTimeSec), scoreModelsSec: overCost((c) => c.scoreModelsSec), policySamples: overCost((c) => c.policySamples) };
    }
    out[key] = agg;
  }
  return out;
}

/**
 * The comparisons the Safe RLHF claims rest on, as (a, b) model pairs: PPO-Lag − SFT, PPO-Lag −
 * each shaping ν, each round − PPO-Lag and each round − SFT, each method of `--methods` (GRPO, DPO, …) − PPO-Lag;
 * only pairs whose models all replicates have.
 */
export function comparisons(models: readonly string[]): [string, string][] {
  const has = new Set(models);
  const pairs: [string, string][] = [];
  if (has.has('ppo_lag') && has.has('sft')) pairs.push(['ppo_lag', 'sft']);
  if (has.has('ppo_lag')) for (const k of models.filter((m) => m.startsWith('shaping_'))) pairs.push(['ppo_lag', k]);
  for (const k of models.filter((m) => m.startsWith('round_'))) {
    if (has.has('ppo_lag')) pairs.push([k, 'ppo_lag']);
    if (has.has('sft')) pairs.push([k, 'sft']);
  }
  // methods added with `methods` (grpo, dpo, sacpo and p_sacpo, …) against Safe RLHF
  const others = models.filter((m) => !['sft', 'ppo', 'ppo_lag'].includes(m) && !m.startsWith('shaping_') && !m.startsWith('round_'));
  if (has.has('ppo_lag')) for (const k of others) pairs.push([k, 'ppo_lag']);
  return pairs;
}

/** Paired differences a − b over replicates for every comparison and metric (held-out ones when all replicates have them). */
export function pairedDifferences(results: readonly ReplicateResult[], level = 0.95): PairedDifference[] {
  const out: PairedDifference[] = [];
  for (const [a, b] of comparisons(commonModels(results))) {
    for (const metric of PAIRED_METRICS) {
      const va = results.map((r) => metricValue(r.models[a] as ModelMetrics, metric));
      const vb = results.map((r) => metricValue(r.models[b] as ModelMetrics, metric));
      if (va.some((v) => v === undefined) || vb.some((v) => v === undefined)) continue;
      out.push({ a, b, metric, ...pairedDifference(va as number[], vb as number[], level) });
    }
  }
  return out;
}

/** Every replicate's per-category rates of one model, or undefined when some replicate has none. */
function categoryRates(ms: readonly ModelMetrics[]): Record<string, number>[] | undefined {
  const rates = ms.map((m) => m.harmfulByCategory);
  return rates.every((r): r is Record<string, number> => r !== undefined && Object.keys(r).length > 0) ? rates : undefined;
}

/** A paired comparison a − b of the per-category harmful rates (and of the worst category). */
export interface CategoryDifference extends CategoryAggregate {
  a: string;
  b: string;
}

/** Per-category paired differences a − b for every comparison whose models have categories in all replicates. */
export function categoryDifferences(results: readonly ReplicateResult[], level = 0.95): CategoryDifference[] {
  return comparisons(commonModels(results)).flatMap(([a, b]) => {
    const ra = categoryRates(results.map((r) => r.models[a] as ModelMetrics));
    const rb = categoryRates(results.map((r) => r.models[b] as ModelMetrics));
    return ra && rb ? [{ a, b, ...pairedCategoryDifferences(ra, rb, level) }] : [];
  });
}
