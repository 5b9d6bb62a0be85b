// `bestOfNEvaluation`: samples max(N) responses per prompt from one policy, picks the best of the first N by Llama 2's rule for each N, reports how harm, helpfulness and the median/max reward move with N.
import { useDevice } from '../config/device.js';
import { join } from 'node:path';
import { bestOfN, type BestOfNStats, type ScoredCandidate } from '../algorithms/best-of-n/rule.js';
import type { TruncationStats } from '../algorithms/common/truncation.js';
import type { RlPrompt } from '../algorithms/rl/train.js';
import { writeFileAtomic, writeJsonAtomic } from '../core/fs-atomic.js';
import { silentProgress, type Progress } from '../core/progress.js';
import type { BestOfNConfig } from './best-of-n-config.js';
import { loadEvalPrompts, loadPolicy, scorer } from './evaluate-models.js';
import { escapeHtml, page, section, table } from './html.js';
import { sampleAndScore } from './model-responses.js';
import { trainingCurves, type CurvePoint } from './plots.js';
import { wilsonInterval } from './summary.js';
import { worldMetrics } from './world-metrics.js';

/** One N's numbers in report.json. */
export interface BestOfNRow extends Omit<BestOfNStats, 'picks'> {
  harmfulRateInterval: { low: number; high: number };
  /** Gold oracle on the built-in world's prompts: harmful rate of the picks on risky prompts, mean helpfulness. */
  gold?: { harmfulRate: number; helpfulness: number; nRisky: number };
}

export interface BestOfNReport {
  createdAt: string;
  prompts: { file: string; format: string; read: number; unreadable: number; used: number; fit: TruncationStats; flagged: number; riskyFlagged: number };
  /** Responses sampled: prompts × max(N). */
  samples: number;
  rows: BestOfNRow[];
  truncation: { reward: TruncationStats; cost: TruncationStats };
  settings: BestOfNConfig;
}

/** Prompt-major samples (`k` consecutive items per prompt) as one candidate list per prompt. */
export function candidatesByPrompt(reward: readonly number[], cost: readonly number[], k: number): ScoredCandidate[][] {
  return Array.from({ length: reward.length / k }, (_, p) => Array.from({ length: k }, (_, j) => ({ reward: reward[p * k + j] as number, cost: cost[p * k + j] as number })));
}

/**
 * Best-of-N at inference: samples max(`config.n`) responses per prompt from `config.model`, scores each
 * with the reward and cost models, and for every N picks among each prompt's first N samples by Llama 2's
 * rule. Reports per N the harmful rate (cost model; gold too on the world's prompts), the helpfulness
 * (mean reward of the picks), the mean median and max reward of the N samples, and the KL bound.
 * Writes `<out>/report.json`, `<out>/report.html` and `<out>/samples.jsonl`.
 */
export async function bestOfNEvaluation(config: BestOfNConfig, progress: Progress = silentProgress): Promise<BestOfNReport> {
  useDevice(config.device); // the models this loads go there
  const ns = [...new Set(config.n)].sort((a, b) => a - b);
  const k = ns[ns.length - 1] as number;
  const judges = { reward: scorer(config.reward, 'reward', config.scoreMaxLength), cost: scorer(config.cost, 'cost', config.scoreMaxLength) };
  const policy = loadPolicy(config.model, 'policy');
  const { file, fitted, prompts, flags: risky, worldPrompts } = loadEvalPrompts(config, [policy], [judges.reward, judges.cost], progress);
  const items: RlPrompt[] = prompts.flatMap((p) => Array.from({ length: k }, () => p));
  const run = sampleAndScore(policy, items, judges, { temperature: config.temperature, maxNewTokens: config.maxNewTokens, batchSize: config.batchSize, seed: config.seed }, progress);
  const candidates = candidatesByPrompt(run.reward, run.cost, k);
  const gold = config.gold === 'auto' && worldPrompts;

  const pickedFor: number[][] = items.map(() => []);
  const rows: BestOfNRow[] = ns.map((n) => {
    const { picks, ...stats } = bestOfN(candidates, risky, n, config.rule, config.harmThreshold);
    const picked = picks.map((j, p) => p * k + j);
    picked.forEach((i) => pickedFor[i]?.push(n));
    const scored = picked.filter((i) => Number.isFinite(run.cost[i]));
    const g = gold ? worldMetrics(picked.map((i) => ({ prompt: items[i]?.prompt ?? '', response: run.responses[i] ?? '', risky: items[i]?.risky ?? false }))) : undefined;
    return {
      ...stats,
      harmfulRateInterval: wilsonInterval(scored.filter((i) => (run.cost[i] as number) > config.harmThreshold).length, scored.length),
      ...(g ? { gold: { harmfulRate: g.harmfulRate, helpfulness: g.helpfulness, nRisky: g.nRisky } } : {}),
    };
  });

  const report: BestOfNReport = {
    createdAt: new Date().toISOString(),
    prompts: {
      file: config.prompts,
      format: file.format,
      read: file.prompts.length,
      unreadable: file.problems.length,
      used: prompts.length,
      fit: fitted.stats,
      flagged: risky.filter((r) => r !== undefined).length,
      riskyFlagged: risky.filter((r) => r === true).length,
    },
    samples: items.length,
    rows,
    truncation: run.truncation,
    settings: config,
  };
  writeJsonAtomic(join(config.out, 'report.json'), report);
  const lines = items.map((p, i) =>
    JSON.stringify({ prompt: p.prompt, ...(p.context ? { context: p.context } : {}), source: p.source, sample: i % k, response: run.responses[i], reward: run.reward[i], cost: run.cost[i], pickedFor: pickedFor[i] }),
  );
  writeFileAtomic(join(config.out, 'samples.jsonl'), lines.join('\n') + '\n');
  writeFileAtomic(join(config.out, 'report.html'), await bestOfNHtml(report));
  return report;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The page: the table per N and the curves of reward (median, max, pick) and harm against N. */
async function bestOfNHtml(report: BestOfNReport): Promise<string> {
  const gold = report.rows.some((r) => r.gold);
  const points: CurvePoint[] = report.rows.flatMap((r) => [
    { method: 'median of the N samples', step: r.n, metric: 'reward-model score', value: r.medianReward },
    { method: 'max of the N samples', step: r.n, metric: 'reward-model score', value: r.maxReward },
    { method: 'Llama 2 pick', step: r.n, metric: 'reward-model score', value: r.meanReward },
    { method: 'Llama 2 pick', step: r.n, metric: 'harmful rate (cost model)', value: r.harmfulRate },
    { method: 'Llama 2 pick', step: r.n, metric: 'cost-model score', value: r.meanCost },
    ...(r.gold ? [{ method: 'Llama 2 pick', step: r.n, metric: 'gold harmful rate', value: r.gold.harmfulRate }, { method: 'Llama 2 pick', step: r.n, metric: 'gold helpfulness', value: r.gold.helpfulness }] : []),
  ]);
  const metrics = ['reward-model score', 'harmful rate (cost model)', 'cost-model score', ...(gold ? ['gold harmful rate', 'gold helpfulness'] : [])];
  const svg = await trainingCurves(points, metrics, { title: 'Best-of-N: the max reward of N samples pulls away from their median as N grows', step: 'N (samples per prompt)' });
  const header = ['N', 'harmful rate [95%]', 'helpfulness (mean reward of picks)', 'mean cost of picks', 'median reward of N', 'max reward of N', 'KL bound (nats)', ...(gold ? ['gold harmful rate', 'gold helpfulness'] : [])];
  const rows = report.rows.map((r) => [
    String(r.n),
    `${pct(r.harmfulRate)} [${pct(r.harmfulRateInterval.low)}, ${pct(r.harmfulRateInterval.high)}]`,
    r.meanReward,
    r.meanCost,
    r.medianReward,
    r.maxReward,
    r.klBound,
    ...(gold ? [r.gold ? pct(r.gold.harmfulRate) : null, r.gold?.helpfulness ?? null] : []),
  ]);
  const p = report.prompts;
  const s = report.settings;
  return page('safealign best-of-n', `${s.model}: ${p.used} prompts × ${report.samples / Math.max(1, p.used)} samples from ${p.file}`, [
    section(
      'Best of N',
      table(header, rows),
      `Each N picks among the first N samples of a prompt the one with the highest R_c: R_s = σ(−cost) on risky prompts (${p.riskyFlagged} of ${p.flagged} flagged prompts; ${p.used - p.flagged} unflagged, risky when a sample has R_s < ${s.rule.safetyThreshold}) and for responses with R_s < ${s.rule.safetyThreshold}, else R_h = σ(reward). Harmful: cost > ${s.harmThreshold}. KL bound: log N − (N − 1)/N.`,
    ),
    section('Reward and harm against N', svg),
    section(
      'Prompts',
      `<p>${p.read} prompts read (${escapeHtml(p.format)}), ${p.unreadable} unreadable lines; ${p.fit.skipped} of ${p.fit.total} skipped: no room for the new tokens${p.fit.skippedAt.length ? ` (${escapeHtml(p.fit.skippedAt.join(', '))})` : ''}; ${p.used} used.</p>`,
    ),
    section('Settings', `<pre>${escapeHtml(JSON.stringify(s, null, 2))}</pre>`),
  ]);
}
