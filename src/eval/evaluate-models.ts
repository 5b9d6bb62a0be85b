// `evaluateModels`: samples every model folder on one prompt file, scores the responses with a reward and a cost model, plays the arena, writes the reports.
import { useDevice } from '../config/device.js';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fitLength, NothingFitsError, type TruncationStats } from '../algorithms/common/truncation.js';
import { loadCausalLM, loadScoreModel } from '../algorithms/rl/folders.js';
import type { RlPrompt } from '../algorithms/rl/train.js';
import { ConfigError } from '../config/schema-cli.js';
import { writeFileAtomic, writeJsonAtomic } from '../core/fs-atomic.js';
import { silentProgress, type Progress } from '../core/progress.js';
import { formatProblem } from '../data/problems.js';
import { readPrompts, type PromptFile } from '../data/prompts.js';
import { loadPretrained, Tokenizer } from '../models/index.js';
import { verbalizedPrompt } from '../models/verbalized.js';
import { topicOfPrompt } from '../world/lexicon.js';
import { playArena, scoreJudge, type PairJudge, type PairOutcome } from './arena.js';
import { textDiversity, withinGroupDiversity } from './diversity.js';
import { embeddingDiversity, type Embedder } from './embedding-diversity.js';
import type { EloRating } from './elo.js';
import { fitEvalPrompts, sampleAndScore, type ModelResponses, type Policy, type Scorer, type VerbalizedItem } from './model-responses.js';
import type { EvalModelsConfig } from './models-config.js';
import { modelsReportHtml } from './models-report.js';
import { wilsonInterval } from './summary.js';
import { goldHeadToHead, worldMetrics } from './world-metrics.js';

/** One model's numbers in report.json. */
export interface ModelSummary {
  dir: string;
  /** Responses evaluated (prompts × samples). */
  n: number;
  /**
   * Share of harmful responses, with its 95% Wilson interval: by the harm classifier when one is given
   * (`harmfulBy` says which), else by the cost model (score above the harm threshold).
   */
  harmfulRate: number;
  harmfulBy: 'cost model' | 'classifier';
  /** With a harm classifier: the cost model's harmful rate beside it. */
  costHarmfulRate?: number;
  harmfulRateInterval: { low: number; high: number };
  meanReward: number;
  meanCost: number;
  /** Mean generated tokens per response (EOS included). */
  responseLength: number;
  distinct1: number;
  distinct2: number;
  /** Self-BLEU-4 and mean pairwise ROUGE-L F1 over an even sample of --diversity-sample responses, across prompts (higher = less diverse). */
  selfBleu: number;
  rougeL: number;
  /** With --samples >= 2: the same among the samples of each prompt, averaged over prompts. */
  withinPrompt?: { selfBleu: number; rougeL: number };
  /** Mean pairwise cosine distance of the responses' mean-pooled last hidden states (higher = more diverse), by `embeddedBy`. */
  embeddingDiversity: number;
  /** The folder whose hidden states embedded the responses (--embedding-model, else the model's own). */
  embeddedBy: string;
  /**
   * Verbalized sampling (--verbalized k): responses drawn from an accepted list (`answered`), and those without
   * one after every attempt (`malformed`: response '', unscored, left out of the diversity), with the first problems by file:line.
   */
  verbalized?: { k: number; answered: number; malformed: number; meanAttempts: number; problems: { source: string; problems: string[] }[] };
  /** What fitting prompt + response to the reward and cost models did. */
  truncation: ModelResponses['truncation'];
  /** Gold oracle on the built-in world's prompts: harmful rate on risky prompts, mean helpfulness. */
  gold?: { harmfulRate: number; helpfulness: number; nRisky: number };
}

/** The arena under one judge. */
export interface JudgeArena {
  judge: string;
  pairs: PairOutcome[];
  elo: EloRating[];
}

export interface EvalModelsReport {
  createdAt: string;
  prompts: { file: string; format: string; read: number; unreadable: number; used: number; fit: TruncationStats };
  samples: number;
  models: Record<string, ModelSummary>;
  /** helpfulness (reward model: higher wins), harmlessness (cost model: lower wins), gold (world prompts only). */
  arena: Record<string, JudgeArena>;
  settings: EvalModelsConfig;
}

/** The report names of the models: --name, else each folder's name; duplicates are an error. */
function modelNames(config: EvalModelsConfig): string[] {
  if (config.name && config.name.length !== config.model.length) {
    throw new ConfigError(`--name: ${config.name.length} names for ${config.model.length} models; give one --name per --model, in the same order`);
  }
  const names = config.name ?? config.model.map((d) => basename(resolve(d)));
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ConfigError(`two models are named '${dup}'${config.name ? '' : ' (the folder name)'}; give each a distinct --name`);
  return names;
}

/** A reward or cost model folder (or a harm classifier, read as a cost model) as a judge: the model, its own tokenizer and its length budget. */
export function scorer(dir: string, role: 'reward' | 'cost' | 'harm-classifier', maxLength: number): Scorer {
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new ConfigError(`--${role} ${dir}: no tokenizer.json; the ${role} model reads responses with its own tokenizer`);
  const model = loadScoreModel(dir, role === 'harm-classifier' ? 'cost' : role);
  return { model, tokenizer: Tokenizer.fromDir(dir), maxLength: fitLength(maxLength, model.contextLength) };
}

/** A policy folder (causal LM with its tokenizer) to sample, named `name` in the report. */
export function loadPolicy(dir: string, name: string): Policy {
  const { model, tokenizer } = loadCausalLM(dir, 'model');
  if (!tokenizer) throw new ConfigError(`--model ${dir}: no tokenizer.json; sampling needs the model's tokenizer beside it`);
  return { name, model, tokenizer };
}

/** A model folder (causal LM or score model) with its tokenizer, to embed responses. */
function loadEmbedder(dir: string): Embedder {
  const { model, tokenizer } = loadPretrained(dir);
  if (!tokenizer) throw new ConfigError(`--embedding-model ${dir}: no tokenizer.json; it reads the responses with its own tokenizer`);
  return { model, tokenizer };
}

/**
 * distinct-n, self-BLEU, ROUGE-L (across prompts, and within a prompt's samples when there are several) and the
 * embedding diversity of one model's responses; under verbalized sampling, of the answered ones (within a
 * prompt only when every item was answered).
 */
function diversityOf(all: readonly string[], config: EvalModelsConfig, embedder: Embedder, lists?: readonly VerbalizedItem[]): Pick<ModelSummary, 'distinct1' | 'distinct2' | 'selfBleu' | 'rougeL' | 'withinPrompt' | 'embeddingDiversity'> {
  const responses = lists ? all.filter((_, i) => 'answers' in (lists[i] as VerbalizedItem)) : all;
  const { distinct1, distinct2, selfBleu, rougeL } = textDiversity(responses, config.diversitySample);
  const within = config.samples >= 2 && responses.length === all.length ? withinGroupDiversity(responses, config.samples) : undefined;
  return {
    distinct1,
    distinct2,
    selfBleu,
    rougeL,
    ...(within ? { withinPrompt: { selfBleu: within.selfBleu, rougeL: within.rougeL } } : {}),
    embeddingDiversity: embeddingDiversity(embedder, responses, config.batchSize).diversity,
  };
}

/** Counts of a model's verbalized items and the problems of the first rejected ones, by the prompt's file:line. */
function verbalizedSummary(lists: readonly VerbalizedItem[], k: number, items: readonly RlPrompt[]): NonNullable<ModelSummary['verbalized']> {
  const failed = lists.flatMap((l, i) => ('problems' in l ? [{ source: items[i]?.source ?? `#${i}`, problems: l.problems }] : []));
  return { k, answered: lists.length - failed.length, malformed: failed.length, meanAttempts: lists.reduce((s, l) => s + l.attempts, 0) / Math.max(1, lists.length), problems: failed.slice(0, 10) };
}

const mean = (xs: readonly number[]) => {
  const finite = xs.filter(Number.isFinite);
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
};

/**
 * Reads `config.prompts` (problems logged by file:line), keeps the prompts every policy and judge can
 * read with `maxNewTokens` new tokens (the others skipped and counted), then the first `maxPrompts`;
 * `flags` are their rows' risky flags (undefined where the row has none).
 */
export function loadEvalPrompts(
  config: { prompts: string; maxNewTokens: number; maxPrompts?: number | undefined; raw?: boolean; verbalized?: number },
  policies: readonly Policy[],
  judges: readonly Scorer[],
  progress: Progress,
): { file: PromptFile; fitted: { kept: RlPrompt[]; stats: TruncationStats }; prompts: RlPrompt[]; flags: (boolean | undefined)[]; worldPrompts: boolean } {
  const file = readPrompts(config.prompts);
  for (const p of file.problems.slice(0, 10)) progress.log(`warning: ${formatProblem(p)}`);
  if (file.problems.length > 10) progress.log(`warning: ${file.problems.length - 10} more unreadable lines in ${config.prompts}`);
  if (file.prompts.length === 0) throw new ConfigError(`${config.prompts}: no prompt could be read (${file.problems.length} unreadable lines)`);
  const read: RlPrompt[] = file.prompts.map((p) => ({ prompt: p.prompt, risky: p.risky ?? false, source: p.source, ...(p.context ? { context: p.context } : {}) }));
  const k = config.verbalized ?? 0;
  const fitted = fitEvalPrompts(read, policies, judges, config.maxNewTokens, { raw: config.raw ?? false }, (p) => (k > 0 ? { ...p, prompt: verbalizedPrompt(p.prompt, k) } : p));
  if (fitted.stats.skipped > 0) {
    const s = fitted.stats;
    progress.log(`${s.skipped} of ${s.total} prompts skipped (no room for ${config.maxNewTokens} new tokens in a model's context, or for a response in a score model's): ${s.skippedAt.join(', ')}${s.skipped > s.skippedAt.length ? ', …' : ''}`);
  }
  if (fitted.kept.length === 0) {
    throw new NothingFitsError(`none of the ${read.length} prompts fits: each leaves no room for --max-new-tokens ${config.maxNewTokens} in a model's context (tightest prompt budget ${fitted.stats.maxLength} tokens); lower --max-new-tokens or use shorter prompts`);
  }
  const prompts = fitted.kept.slice(0, config.maxPrompts ?? fitted.kept.length);
  // the built-in world's prompt files: every row says risky or benign and names a world topic (the gold oracle can judge)
  const worldPrompts = file.prompts.every((p) => p.risky !== undefined) && prompts.every((p) => topicOfPrompt(p.prompt) !== undefined);
  // the file's own risky flag of each prompt (RlPrompt.risky reads a missing flag as false)
  const bySource = new Map(file.prompts.map((p) => [p.source, p.risky]));
  return { file, fitted, prompts, flags: prompts.map((p) => bySource.get(p.source ?? '')), worldPrompts };
}

/**
 * Evaluates every `config.model` folder on `config.prompts`: `samples` responses per prompt and model,
 * each scored by the reward and cost models; per-model harmful rate, mean scores, length and
 * diversity (distinct-n, self-BLEU, pairwise ROUGE-L, embedding diversity); pairwise win/tie/loss and Elo by reward (helpfulness) and by cost (harmlessness), plus
 * the gold oracle on the built-in world's prompts. Writes `<out>/report.json`, `<out>/report.html` and
 * `<out>/responses.jsonl` (every response with its scores).
 */
export async function evaluateModels(config: EvalModelsConfig, progress: Progress = silentProgress): Promise<EvalModelsReport> {
  useDevice(config.device); // the models this loads go there
  const names = modelNames(config);
  const judges = {
    reward: scorer(config.reward, 'reward', config.scoreMaxLength),
    cost: scorer(config.cost, 'cost', config.scoreMaxLength),
    ...(config.harmClassifier ? { classifier: scorer(config.harmClassifier, 'harm-classifier', config.scoreMaxLength) } : {}),
  };
  const policies: Policy[] = config.model.map((dir, i) => loadPolicy(dir, names[i] as string));

  const { file, fitted, prompts, worldPrompts } = loadEvalPrompts(config, policies, Object.values(judges), progress);
  const items = prompts.flatMap((p) => Array.from({ length: config.samples }, () => p));
  const gold = config.gold === 'auto' && worldPrompts;

  const sharedEmbedder = config.embeddingModel ? loadEmbedder(config.embeddingModel) : undefined;
  const runs: ModelResponses[] = policies.map((policy) =>
    sampleAndScore(
      policy,
      items,
      judges,
      { temperature: config.temperature, maxNewTokens: config.maxNewTokens, batchSize: config.batchSize, seed: config.seed, raw: config.raw, verbalized: config.verbalized > 0 ? { k: config.verbalized, attempts: config.verbalizedAttempts } : undefined },
      progress,
    ),
  );

  const models: Record<string, ModelSummary> = {};
  runs.forEach((r, i) => {
    const rate = (scores: readonly number[], threshold: number) => ({ harmful: scores.filter((c) => c > threshold).length, scored: scores.filter(Number.isFinite).length });
    const byCost = rate(r.cost, config.harmThreshold);
    const { harmful, scored } = r.classifier ? rate(r.classifier, config.harmClassifierThreshold) : byCost;
    const g = gold ? worldMetrics(items.map((p, k) => ({ prompt: p.prompt, response: r.responses[k] ?? '', risky: p.risky }))) : undefined;
    models[r.name] = {
      dir: config.model[i] as string,
      n: r.responses.length,
      harmfulRate: scored ? harmful / scored : NaN,
      harmfulRateInterval: wilsonInterval(harmful, scored),
      harmfulBy: r.classifier ? 'classifier' : 'cost model',
      ...(r.classifier ? { costHarmfulRate: byCost.scored ? byCost.harmful / byCost.scored : NaN } : {}),
      meanReward: mean(r.reward),
      meanCost: mean(r.cost),
      responseLength: mean(r.lengths),
      ...diversityOf(r.responses, config, sharedEmbedder ?? { model: (policies[i] as Policy).model, tokenizer: (policies[i] as Policy).tokenizer }, r.verbalized),
      ...(r.verbalized ? { verbalized: verbalizedSummary(r.verbalized, config.verbalized, items) } : {}),
      embeddedBy: config.embeddingModel ?? config.model[i] as string,
      truncation: r.truncation,
      ...(g ? { gold: { harmfulRate: g.harmfulRate, helpfulness: g.helpfulness, nRisky: g.nRisky } } : {}),
    };
  });

  const byName = Object.fromEntries(runs.map((r) => [r.name, r]));
  const arenaJudges: Record<string, { judge: string; play: PairJudge }> = {
    helpfulness: { judge: 'reward model: the higher reward wins', play: scoreJudge(Object.fromEntries(runs.map((r) => [r.name, r.reward])), 'higher', config.tieMargin) },
    harmlessness: { judge: 'cost model: the lower cost wins', play: scoreJudge(Object.fromEntries(runs.map((r) => [r.name, r.cost])), 'lower', config.tieMargin) },
    ...(gold ? { gold: { judge: 'gold oracle: a safe response beats an unsafe one, then the more helpful wins', play: (a: string, b: string, i: number) => goldHeadToHead(items[i]?.prompt ?? '', byName[a]?.responses[i] ?? '', byName[b]?.responses[i] ?? '') } } : {}),
  };
  const arena = Object.fromEntries(
    Object.entries(arenaJudges).map(([key, j]) => [key, { judge: j.judge, ...playArena(names, items.length, j.play, { rounds: config.eloRounds, seed: config.seed }) }]),
  );

  const report: EvalModelsReport = {
    createdAt: new Date().toISOString(),
    prompts: { file: config.prompts, format: file.format, read: file.prompts.length, unreadable: file.problems.length, used: prompts.length, fit: fitted.stats },
    samples: config.samples,
    models,
    arena,
    settings: config,
  };
  writeJsonAtomic(join(config.out, 'report.json'), report);
  const lines = runs.flatMap((r) => r.responses.map((response, i) => JSON.stringify({ model: r.name, prompt: items[i]?.prompt, ...(items[i]?.context ? { context: items[i]?.context } : {}), source: items[i]?.source, response, reward: r.reward[i], cost: r.cost[i], ...(r.classifier ? { classifier: r.classifier[i] } : {}), ...(r.verbalized ? { verbalized: r.verbalized[i] } : {}) })));
  writeFileAtomic(join(config.out, 'responses.jsonl'), lines.join('\n') + '\n');
  writeFileAtomic(join(config.out, 'report.html'), await modelsReportHtml(report, runs));
  return report;
}
