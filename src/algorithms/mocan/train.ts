// MoCAN (Huang et al. 2024), one-shot dualisation: λ* from the dual on the reference policy's scored samples, then DPO on the pairs relabelled by r − λ*·c.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../core/fs-atomic.js';
import { silentProgress, type Progress } from '../../core/progress.js';
import type { PreferenceRecord } from '../../data/record.js';
import { dataParallel } from '../../distributed/data-parallel.js';
import { fitEvalPrompts, sampleAndScore, scoreTexts, type Scorer } from '../../eval/model-responses.js';
import { scoreMatrix, solveMocanDual, type MocanDualSolution } from '../../losses/index.js';
import type { CausalLM } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { Rng } from '../../world/rng.js';
import { NothingFitsError, type TruncationStats } from '../common/truncation.js';
import { utilityPairs } from '../dpo/pairs.js';
import { trainPreferences, type PreferenceResult } from '../dpo/train.js';
import type { RlPrompt } from '../rl/train.js';
import type { MocanConfig } from './config.js';

/** The dual estimate (or the fixed λ) and what it was computed from. */
export interface MocanDual extends Omit<MocanDualSolution, 'iterations'> {
  /** d, the budget. */
  threshold: number;
  /** True when `config.lambda` fixed λ (no sampling; the other fields are then evaluated at that λ only if samples exist, else NaN). */
  fixed: boolean;
  /** Prompts and responses of the reference policy the dual was estimated on (the policy samples MoCAN needed). */
  prompts: number;
  samples: number;
  /** Mean reward and cost of those samples (π_ref itself). */
  meanReward: number;
  meanCost: number;
  /** Prompts offered and skipped because they leave no room for maxNewTokens (or the scorers' context). */
  promptFit: TruncationStats;
}

export interface MocanResult {
  dual: MocanDual;
  /** Pairs whose order r − λ*·c reversed from the annotators' helpfulness order, and pairs the scorers could not read. */
  relabel: { pairs: number; flipped: number; unscored: number };
  preference: PreferenceResult;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * Estimates λ* = argmin_{λ ≥ 0} D(λ) on K responses of `reference` to each of (at most) `config.prompts`
 * prompts, scored by the reward and cost models. With `config.lambda` set, returns it without sampling.
 */
export function estimateMocanLambda(args: {
  reference: CausalLM;
  tokenizer: Tokenizer;
  prompts: readonly RlPrompt[];
  reward: Scorer;
  cost: Scorer;
  threshold: number;
  config: MocanConfig;
  progress?: Progress;
}): MocanDual {
  const { config, threshold } = args;
  const progress = args.progress ?? silentProgress;
  const { kept, stats } = fitEvalPrompts(args.prompts, [{ name: 'reference', model: args.reference, tokenizer: args.tokenizer }], [args.reward, args.cost], config.maxNewTokens);
  const none = { dual: NaN, gradient: NaN, tiltedCost: NaN, costAtZero: NaN, infeasible: false, meanReward: NaN, meanCost: NaN, prompts: 0, samples: 0, promptFit: stats, threshold };
  if (config.lambda !== null) return { ...none, lambda: config.lambda, fixed: true };
  if (stats.skipped > 0) progress.log(`mocan: ${stats.skipped} of ${stats.total} prompts leave no room for ${config.maxNewTokens} new tokens and are not sampled (first: ${stats.skippedAt.slice(0, 3).join(', ')})`);
  const chosen = new Rng(config.seed).derive('mocan-prompts').sample(kept, config.prompts);
  if (chosen.length === 0) throw new NothingFitsError(`mocan: no prompt to estimate the dual on (${stats.total} offered, ${stats.skipped} too long for ${config.maxNewTokens} new tokens)`);
  const K = config.samplesPerPrompt;
  const items = chosen.flatMap((p) => Array.from({ length: K }, () => p));
  const scored = sampleAndScore({ name: 'mocan π_ref', model: args.reference, tokenizer: args.tokenizer }, items, { reward: args.reward, cost: args.cost }, { temperature: config.temperature, maxNewTokens: config.maxNewTokens, batchSize: config.sampleBatchSize, seed: config.seed }, progress);
  const solution = solveMocanDual(scoreMatrix(scored.reward, K), scoreMatrix(scored.cost, K), { beta: config.preference.beta, threshold, lambdaMax: config.lambdaMax });
  const { iterations: _iterations, ...rest } = solution;
  return { ...rest, threshold, fixed: false, prompts: chosen.length, samples: items.length, meanReward: mean(scored.reward), meanCost: mean(scored.cost), promptFit: stats };
}

/**
 * The dual, computed once and cached in `<outDir>/dual.json` (a resumed run reads it back instead of
 * sampling again; with several processes, rank 0 writes it); a cache made with another budget, β, K or fixed λ is recomputed.
 */
function cachedDual(outDir: string, key: Record<string, unknown>, compute: () => MocanDual): MocanDual {
  const file = join(outDir, 'dual.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { key: Record<string, unknown>; dual: MocanDual };
    if (JSON.stringify(saved.key) === JSON.stringify(key)) return saved.dual;
  }
  const dual = compute();
  if (dataParallel().isMain) writeJsonAtomic(file, { key, dual });
  return dual;
}

/** r − λ·c of both responses of every record, each read by the reward and the cost model (response end kept). */
function utilities(records: readonly PreferenceRecord[], reward: Scorer, cost: Scorer, lambda: number): [number, number][] {
  const items = records.flatMap((r) => r.responses.map((response) => ({ prompt: r.prompt, ...(r.context ? { context: r.context } : {}), response })));
  const rs = scoreTexts(reward, items).scores;
  const cs = scoreTexts(cost, items).scores;
  return records.map((_, i) => [(rs[2 * i] as number) - lambda * (cs[2 * i] as number), (rs[2 * i + 1] as number) - lambda * (cs[2 * i + 1] as number)]);
}

/**
 * MoCAN: λ* from the dual (cached in `<outDir>/dual.json`), the training pairs relabelled so that the
 * response with the higher r − λ*·c is chosen (with soft labels σ(Δ) by default), then DPO (`config.preference`) of `policy` against
 * `reference` on them, resumable from `<outDir>/checkpoint`. The dual is estimated on the reference
 * policy's samples (π_ref, usually the SFT model).
 */
export function trainMocan(args: {
  policy: CausalLM;
  reference: CausalLM;
  tokenizer: Tokenizer;
  train: readonly PreferenceRecord[];
  test?: readonly PreferenceRecord[];
  /** Prompts the dual is estimated on. */
  prompts: readonly RlPrompt[];
  reward: Scorer;
  cost: Scorer;
  threshold: number;
  config: MocanConfig;
  outDir: string;
  label?: string;
  progress?: Progress;
}): MocanResult {
  const { config } = args;
  const label = args.label ?? 'mocan';
  const progress = args.progress ?? silentProgress;
  const key = { threshold: args.threshold, beta: config.preference.beta, samplesPerPrompt: config.samplesPerPrompt, prompts: config.prompts, lambda: config.lambda, seed: config.seed };
  const dual = cachedDual(args.outDir, key, () => estimateMocanLambda({ ...args, progress }));
  progress.log(
    dual.fixed
      ? `${label}: λ = ${dual.lambda} (fixed)`
      : `${label}: λ* = ${dual.lambda.toFixed(4)} from ${dual.samples} samples of π_ref on ${dual.prompts} prompts (their mean cost ${dual.meanCost.toFixed(3)}, predicted cost of the aligned policy ${dual.tiltedCost.toFixed(3)}, budget d = ${dual.threshold.toFixed(3)}${dual.infeasible ? '; INFEASIBLE: no mix of the sampled responses meets d, λ stopped at lambdaMax' : ''})`,
  );
  if (config.labels === 'soft' && config.preference.variant !== 'sigmoid') throw new RangeError(`mocan: soft labels need preference.variant 'sigmoid' (got '${config.preference.variant}'); set labels 'hard' for ipo or robust`);
  const relabel = (records: readonly PreferenceRecord[]) => utilityPairs(records, utilities(records, args.reward, args.cost, dual.lambda), config.labels === 'soft');
  const train = relabel(args.train);
  if (train.unscored > 0) progress.log(`${label}: ${train.unscored} pairs left out: a response could not be read by the reward or cost model (prompt longer than its context)`);
  const preference = trainPreferences({
    policy: args.policy,
    reference: args.reference,
    tokenizer: args.tokenizer,
    train: train.pairs,
    ...(args.test ? { test: relabel(args.test).pairs } : {}),
    config: config.preference,
    outDir: args.outDir,
    label,
    progress,
  });
  return { dual, relabel: { pairs: train.pairs.length, flipped: train.flipped, unscored: train.unscored }, preference };
}
