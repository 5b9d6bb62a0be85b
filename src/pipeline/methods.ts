// Methods a pipeline run adds beyond the default (`methods` in the config, `--methods` on the CLI): one enum; the online RL
// methods give an RlMethod builder (they run through trainRl beside PPO-Lagrangian), the others their own stage.
import { join } from 'node:path';
import { z } from 'zod';
import type { Progress } from '../core/progress.js';
import type { PreferenceRecord } from '../data/record.js';
import type { PreferenceLogRecord } from '../algorithms/dpo/train.js';
import { trainDpo, trainSafeDpo } from '../algorithms/dpo/train.js';
import { trainSacpo } from '../algorithms/dpo/sacpo.js';
import { savePretrained, type CausalLM, type ScoreModel } from '../models/index.js';
import type { Tokenizer } from '../models/tokenizer.js';
import type { RlPrompt } from '../algorithms/rl/train.js';
import type { RlMethod } from '../algorithms/rl/method.js';
import { grpoMethod, safeGrpoMethod } from '../algorithms/grpo/method.js';
import { p3oMethod } from '../algorithms/p3o/method.js';
import { rlooLagMethod } from '../algorithms/rloo-lag/method.js';
import type { LagrangeConfig } from '../rl/index.js';
import type { PolicyEval } from './evaluate-policy.js';
import type { PipelineConfig } from './config.js';

/** Every method `--methods` can add, in the order they run and appear in the report. Extend here. */
export const PIPELINE_METHODS = ['grpo', 'safe_grpo', 'rloo_lag', 'p3o', 'dpo', 'safe_dpo', 'sacpo'] as const;
export type PipelineMethod = (typeof PIPELINE_METHODS)[number];

/** `methods`: a list of PIPELINE_METHODS, or 'all'; the CLI's comma-separated `--methods dpo,sacpo` arrives as a list. */
export const MethodsSchema = z
  .preprocess(
    (v) => (v === 'all' || (Array.isArray(v) && v.includes('all')) ? [...PIPELINE_METHODS] : typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
    z.array(z.enum(PIPELINE_METHODS)),
  )
  .default([])
  .describe(`methods to run beyond the default ones (SFT, PPO, reward shaping, PPO-Lagrangian, rounds): any of ${PIPELINE_METHODS.join(', ')}, or all`);

/** What an online RL method is built from: the run's config and PPO-Lagrangian's Lagrange settings with the run's d. */
type RlBuilder = (config: PipelineConfig, lagrange: LagrangeConfig) => RlMethod;

/** The online RL methods of the list: each runs through trainRl like PPO-Lagrangian, with the same threshold d. */
export const RL_PIPELINE_METHODS: Partial<Record<PipelineMethod, RlBuilder>> = {
  grpo: (c) => grpoMethod({ ...c.grpo, scoreClip: c.rl.scoreClip }),
  safe_grpo: (c, lagrange) => safeGrpoMethod({ klCoef: c.grpo.klCoef, scaleRewards: c.grpo.scaleRewards, scoreClip: c.rl.scoreClip, lagrange }),
  rloo_lag: (c, lagrange) => rlooLagMethod({ klCoef: c.rlooLag.klCoef, scoreClip: c.rl.scoreClip, lagrange }),
  p3o: (c) => p3oMethod({ ...c.p3o, scoreClip: c.rl.scoreClip }),
};

/** The responses per prompt a critic-free method samples: its estimator's fixed group size (P3O's pairs), else the run's G. */
export function samplesPerPromptOf(method: RlMethod, groupSamples: number): number {
  return method.estimator.groupSize ?? groupSamples;
}

/** What a method's stage can use: the run's settings and the shared artefacts up to the SFT evaluation. */
export interface MethodContext {
  config: PipelineConfig;
  stageDir: string;
  tokenizer: Tokenizer;
  /** A fresh copy of the SFT policy (the start and the reference of every method). */
  loadSft: () => CausalLM;
  /** The annotator-labelled preference pairs the reward and cost models train on (world pairs + SFT pairs, minus the validation split). */
  pairs: readonly PreferenceRecord[];
  trainPrompts: readonly RlPrompt[];
  rewardModel: ScoreModel;
  costModel: ScoreModel;
  /** The cost threshold d of PPO-Lagrangian. */
  threshold: number;
  /** Gold evaluation of a trained policy (KL against `reference`). */
  evaluate: (policy: CausalLM, reference: CausalLM, name: string) => PolicyEval;
  progress: Progress;
}

/** A finished method stage (JSON, kept in its stage.json). */
export interface MethodOutcome {
  /** Evaluated policies by report key (one method may give several: sacpo and p_sacpo). */
  models: Record<string, PolicyEval>;
  /** Per-step logs of preference training by curve name, for the implicit-reward plot. */
  preferenceLogs: Record<string, PreferenceLogRecord[]>;
  /** Responses sampled from the policy during training (0 for offline methods). */
  policySamples: number;
  /** Whether the method trains on the reward and cost models (their training time counts towards its cost). */
  needsScoreModels: boolean;
  /** Seconds the stage spent evaluating (subtracted from its wall time to give the training time). */
  evalSec: number;
}

/** Evaluates `policies` against the SFT policy, timing it. */
function evaluateAll(ctx: MethodContext, policies: Record<string, CausalLM>): { models: Record<string, PolicyEval>; evalSec: number } {
  const t0 = performance.now();
  const sft = ctx.loadSft();
  const models = Object.fromEntries(Object.entries(policies).map(([k, p]) => [k, ctx.evaluate(p, sft, k)]));
  return { models, evalSec: (performance.now() - t0) / 1000 };
}

const offline = { policySamples: 0, needsScoreModels: false };

/** The other methods' stages: each trains from the SFT policy, saves `<stageDir>/model`, evaluates. */
export const METHOD_STAGES: Partial<Record<PipelineMethod, (ctx: MethodContext) => MethodOutcome>> = {
  dpo: (ctx) => {
    const policy = ctx.loadSft();
    const out = trainDpo({ policy, reference: ctx.loadSft(), tokenizer: ctx.tokenizer, train: ctx.pairs, config: ctx.config.dpo, outDir: ctx.stageDir, progress: ctx.progress });
    savePretrained(join(ctx.stageDir, 'model'), policy, { tokenizer: ctx.tokenizer, trainingConfig: ctx.config.dpo });
    return { ...evaluateAll(ctx, { dpo: policy }), preferenceLogs: { dpo: out.log }, ...offline };
  },
  safe_dpo: (ctx) => {
    const policy = ctx.loadSft();
    const out = trainSafeDpo({ policy, reference: ctx.loadSft(), tokenizer: ctx.tokenizer, train: ctx.pairs, config: ctx.config.safeDpo, outDir: ctx.stageDir, progress: ctx.progress });
    savePretrained(join(ctx.stageDir, 'model'), policy, { tokenizer: ctx.tokenizer, trainingConfig: ctx.config.safeDpo });
    return { ...evaluateAll(ctx, { safe_dpo: policy }), preferenceLogs: { safe_dpo: out.log }, ...offline };
  },
  sacpo: (ctx) => {
    const out = trainSacpo({ load: ctx.loadSft, tokenizer: ctx.tokenizer, train: ctx.pairs, config: ctx.config.sacpo, outDir: ctx.stageDir, progress: ctx.progress });
    savePretrained(join(ctx.stageDir, 'model'), out.safety.model, { tokenizer: ctx.tokenizer, trainingConfig: ctx.config.sacpo });
    if (out.merged) savePretrained(join(ctx.stageDir, 'merged'), out.merged, { tokenizer: ctx.tokenizer, trainingConfig: ctx.config.sacpo });
    const policies: Record<string, CausalLM> = { sacpo: out.safety.model, ...(out.merged ? { p_sacpo: out.merged } : {}) };
    return { ...evaluateAll(ctx, policies), preferenceLogs: { sacpo_helpful: out.helpful.result.log, sacpo_safety: out.safety.result.log }, ...offline };
  },
};
