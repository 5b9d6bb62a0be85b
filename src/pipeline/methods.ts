// Methods a pipeline run adds beyond the default (`methods` in the config, `--methods` on the CLI): one enum; the online RL
// methods give an RlMethod builder (they run through trainRl beside PPO-Lagrangian), the others their own stage.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Progress } from '../core/progress.js';
import type { PreferenceRecord } from '../data/record.js';
import type { PreferenceLogRecord } from '../algorithms/dpo/train.js';
import { trainDpo, trainSafeDpo } from '../algorithms/dpo/train.js';
import { trainSacpo } from '../algorithms/dpo/sacpo.js';
import { trainMocan } from '../algorithms/mocan/train.js';
import { alolItems, trainAlol } from '../algorithms/alol/train.js';
import { savePretrained, type CausalLM, type ScoreModel } from '../models/index.js';
import type { Tokenizer } from '../models/tokenizer.js';
import type { RlPrompt } from '../algorithms/rl/train.js';
import type { RlMethod } from '../algorithms/rl/method.js';
import { grpoMethod, safeGrpoMethod } from '../algorithms/grpo/method.js';
import { p3oMethod } from '../algorithms/p3o/method.js';
import { rlooLagMethod } from '../algorithms/rloo-lag/method.js';
import { lagrangianMethod } from '../algorithms/ppo-lag/method.js';
import { gaeEstimator } from '../algorithms/rl/estimators.js';
import type { LagrangeConfig } from '../rl/index.js';
import { bestOfNResponder, type PolicyEval, type Responder } from './evaluate-policy.js';
import { trainRsft } from '../algorithms/rsft/train.js';
import { trainHcRlhf } from '../algorithms/hc-rlhf/train.js';
import { ConfigError } from '../config/schema-cli.js';
import type { SafetyTestResult } from '../rl/index.js';
import type { PipelineConfig } from './config.js';
import { routedWeights, trainMicroAndBaseline, type MicroComparison, type TrainedMixture } from '../algorithms/micro/compare.js';
import type { AnnotatedPair } from '../algorithms/micro/train.js';
import { runWeakToStrong, type WeakToStrongResult } from '../algorithms/weak-to-strong/experiment.js';
import { trainSft } from '../algorithms/sft/train.js';
import { SftConfigSchema } from '../algorithms/sft/config.js';
import { createCausalLM } from '../models/index.js';
import { parseModelConfig } from '../models/hf-config.js';
import { loadPretrained, type SequenceScorer } from '../models/index.js';
import { manualSeed } from '../torch/index.js';
import type { WorldGuaranteeReport } from './hc-guarantee-world.js';

/** Every method `--methods` can add, in the order they run and appear in the report. Extend here. */
export const PIPELINE_METHODS = ['grpo', 'safe_grpo', 'rloo_lag', 'p3o', 'ppo_lag_ens', 'ppo_lag_cat', 'hc_rlhf', 'dpo', 'safe_dpo', 'sacpo', 'mocan', 'alol', 'best_of_n', 'rsft', 'micro', 'weak_to_strong'] as const;
export type PipelineMethod = (typeof PIPELINE_METHODS)[number];
/** The methods of `methods` (its parts left out), in the order given. */
export const methodsOf = (methods: readonly string[]): PipelineMethod[] => methods.filter((m): m is PipelineMethod => (PIPELINE_METHODS as readonly string[]).includes(m));
/** Parts of a run that are studies rather than methods (no model in the table); `--methods all` leaves them out. */
export const PIPELINE_PARTS = ['overoptimisation', 'hc_guarantee'] as const;

/** `methods`: a list of PIPELINE_METHODS and PIPELINE_PARTS, or 'all' (every method); the CLI's comma-separated `--methods dpo,sacpo` arrives as a list. */
export const MethodsSchema = z
  .preprocess(
    (v) => {
      const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
      return Array.isArray(list) && list.includes('all') ? [...new Set([...PIPELINE_METHODS, ...list.filter((m) => m !== 'all')])] : list;
    },
    z.array(z.enum([...PIPELINE_METHODS, ...PIPELINE_PARTS])),
  )
  .default([])
  .describe(
    `methods to run beyond the default ones (SFT, PPO, reward shaping, PPO-Lagrangian, rounds): any of ${PIPELINE_METHODS.join(', ')}, or all; and the studies 'overoptimisation' (long low-β RL runs with and without each ensemble remedy, best-of-N by the reward model: proxy vs gold against KL; settings in the overoptimisation section) and 'hc_guarantee' (HC-RLHF's failure rate per δ over hcGuarantee.seeds seeds from the run's own models; settings in the hcGuarantee section), which all leaves out`,
  );

/** What an online RL method is built from: the run's config and PPO-Lagrangian's Lagrange settings with the run's d. */
type RlBuilder = (config: PipelineConfig, lagrange: LagrangeConfig) => RlMethod;

/** The online RL methods of the list: each runs through trainRl like PPO-Lagrangian, with the same threshold d. */
export const RL_PIPELINE_METHODS: Partial<Record<PipelineMethod, RlBuilder>> = {
  grpo: (c) => grpoMethod({ ...c.grpo, scoreClip: c.rl.scoreClip }),
  safe_grpo: (c, lagrange) => safeGrpoMethod({ klCoef: c.grpo.safeKlCoef, scaleRewards: c.grpo.scaleRewards, scoreClip: c.rl.scoreClip, lagrange: withLr(lagrange, c.grpo.lagrangeLr) }),
  rloo_lag: (c, lagrange) => rlooLagMethod({ klCoef: c.rlooLag.klCoef, scoreClip: c.rl.scoreClip, lagrange: withLr(lagrange, c.rlooLag.lagrangeLr) }),
  p3o: (c) => p3oMethod({ ...c.p3o, scoreClip: c.rl.scoreClip }),
  ppo_lag_ens: (c, lagrange) => ppoLagVariant('ppo_lag_ens', c, lagrange),
  // one λ per harm category of the prompt (the world's risky topic; benign prompts share one), each with PPO-Lag's d
  ppo_lag_cat: (c, lagrange) => ppoLagVariant('ppo_lag_cat', c, { ...lagrange, perCategory: true }),
};

/** PPO-Lagrangian's Lagrange settings with a method's own learning rate of log λ (null: PPO-Lagrangian's). */
const withLr = (lagrange: LagrangeConfig, lr: number | null): LagrangeConfig => (lr === null ? lagrange : { ...lagrange, lr });

/** PPO-Lagrangian (GAE, a critic per stream, the KL in the scores, the run's β) under another name and Lagrange settings. */
function ppoLagVariant(name: string, c: PipelineConfig, lagrange: LagrangeConfig): RlMethod {
  return lagrangianMethod({ name, estimator: gaeEstimator, lossKlCoef: 0, klCoef: c.ppoLag.klCoef, scoreClip: c.rl.scoreClip, lagrange });
}

/**
 * The reward an online RL method optimises, when it is not the run's reward model: 'ensemble' = the members of the
 * reward_ensemble stage, their scores reduced by `ensemble.rl` (UP-RLHF's mean − k·std by default).
 */
export const RL_PIPELINE_REWARD: Partial<Record<PipelineMethod, 'ensemble'>> = { ppo_lag_ens: 'ensemble' };

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
  /** A policy answering evaluation items (one sample each, scored by the reward and cost models, KL against `reference`). */
  sampler: (policy: CausalLM, reference: CausalLM) => Responder;
  /** Gold evaluation of whatever a responder answers (best-of-N at inference). */
  evaluateResponder: (respond: Responder, name: string) => PolicyEval;
  progress: Progress;
  /** The world's train pairs once per annotator who labelled them (that person's choice and id; MiCRo). */
  annotatorPairs: readonly AnnotatedPair[];
  /** The SFT corpus (the weak model of weak-to-strong is trained on it). */
  sftTrain: readonly { prompt: string; response: string }[];
  /** Evaluation of reward models: gold pairwise accuracy, and MiCRo's accuracy per annotator type (both judged on the evaluation side). */
  judgeScores: { goldAccuracy: (model: SequenceScorer) => number; byAnnotatorType: (trained: { micro: TrainedMixture; single: TrainedMixture }) => MicroComparison['byGroup']; groupOf: (annotator: string) => string };
}

/** One trainer's log: a record per optimiser step, `step` and its metrics (the numeric fields are plotted). */
export type StepLog = readonly { step: number }[];

/** A finished method stage (JSON, kept in its stage.json). */
export interface MethodOutcome {
  /** Evaluated policies by report key (one method may give several: sacpo and p_sacpo). */
  models: Record<string, PolicyEval>;
  /** Per-step logs of preference training by curve name, for the implicit-reward plot. */
  preferenceLogs: Record<string, PreferenceLogRecord[]>;
  /** Per-step numeric logs of the other offline trainers (A-LoL) by curve name, for their training-curve plot; absent in stages finished before it existed. */
  stepLogs?: Record<string, StepLog>;
  /** Responses sampled from the policy during training (0 for offline methods). */
  policySamples: number;
  /** Whether the method trains on the reward and cost models (their training time counts towards its cost). */
  needsScoreModels: boolean;
  /** Seconds the stage spent evaluating (subtracted from its wall time to give the training time). */
  evalSec: number;
  /** HC-RLHF: per model key, the safety test's verdict ("no solution found" when it failed; the candidate is evaluated all the same). */
  safetyTests?: Record<string, HcSafetyTest>;
  /** Reward-model methods (micro, weak_to_strong): what they measured; they train no policy. */
  robust?: RobustResults;
}

/** The robust section's reward-model results. */
export interface RobustResults {
  micro?: MicroComparison;
  weakToStrong?: WeakToStrongResult;
  /** The study hc_guarantee: HC-RLHF's empirical failure rate per δ. */
  hcGuarantee?: WorldGuaranteeReport;
}

/** The safety test of an HC-RLHF model as the report shows it. */
export type HcSafetyTest = SafetyTestResult & { inflation: number; candidatePrompts: number };

/** Evaluates `policies` against the SFT policy, timing it. */
function evaluateAll(ctx: MethodContext, policies: Record<string, CausalLM>): { models: Record<string, PolicyEval>; evalSec: number } {
  const t0 = performance.now();
  const sft = ctx.loadSft();
  const models = Object.fromEntries(Object.entries(policies).map(([k, p]) => [k, ctx.evaluate(p, sft, k)]));
  return { models, evalSec: (performance.now() - t0) / 1000 };
}

const offline = { policySamples: 0, needsScoreModels: false };

/** A score model of the run as a text scorer (the run's tokenizer, the model's whole context). */
const scorerOf = (ctx: MethodContext) => (model: ScoreModel) => ({ model, tokenizer: ctx.tokenizer, maxLength: model.contextLength });

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
  // no training: N samples of the SFT policy per test response at inference, so its whole stage is evaluation
  best_of_n: (ctx) => {
    const t0 = performance.now();
    const sft = ctx.loadSft();
    const { n, rule } = ctx.config.bestOfN;
    const ev = ctx.evaluateResponder(bestOfNResponder(ctx.sampler(sft, sft), n, rule), 'best_of_n');
    return { models: { best_of_n: ev }, preferenceLogs: {}, policySamples: n * ev.n, needsScoreModels: true, evalSec: (performance.now() - t0) / 1000 };
  },
  rsft: (ctx) => {
    const policy = ctx.loadSft();
    const judge = scorerOf(ctx);
    const out = trainRsft({ policy, tokenizer: ctx.tokenizer, prompts: ctx.trainPrompts, judges: { reward: judge(ctx.rewardModel), cost: judge(ctx.costModel) }, config: ctx.config.rsft, outDir: ctx.stageDir, progress: ctx.progress });
    savePretrained(join(ctx.stageDir, 'model'), policy, { tokenizer: ctx.tokenizer, trainingConfig: ctx.config.rsft });
    return { ...evaluateAll(ctx, { rsft: policy }), preferenceLogs: {}, policySamples: out.policySamples, needsScoreModels: true };
  },
  hc_rlhf: (ctx) => {
    const { config } = ctx;
    const hc = config.hcRlhf;
    const G = config.groupSampling.samplesPerPrompt;
    const rloo = hc.candidate === 'rloo-lag';
    if (rloo && config.rl.promptsPerStep % G !== 0) {
      throw new ConfigError(`rl.promptsPerStep ${config.rl.promptsPerStep} is not a multiple of groupSampling.samplesPerPrompt ${G}: hc_rlhf would see another number of responses per step than PPO-Lagrangian. Change one of them.`);
    }
    const rl = { ...config.rl, seed: config.seed, ...(rloo ? { samplesPerPrompt: G, promptsPerStep: config.rl.promptsPerStep / G } : {}) };
    const { threshold: _d, thresholdQuantile: _q, ...lagrange } = config.ppoLag.lagrange;
    const policy = ctx.loadSft();
    const out = trainHcRlhf({
      policy,
      reference: ctx.loadSft(),
      reward: ctx.rewardModel,
      cost: ctx.costModel,
      criticInit: { reward: ctx.rewardModel, cost: ctx.costModel },
      tokenizer: ctx.tokenizer,
      prompts: ctx.trainPrompts,
      tau: ctx.threshold,
      klCoef: rloo ? config.rlooLag.klCoef : config.ppoLag.klCoef,
      lagrange,
      config: hc,
      rl,
      outDir: ctx.stageDir,
      progress: ctx.progress,
    });
    savePretrained(join(ctx.stageDir, 'model'), policy, { tokenizer: ctx.tokenizer, trainingConfig: { ...hc, tau: ctx.threshold, passed: out.passed } });
    const safetyTest: HcSafetyTest = { ...out.test, inflation: out.inflation, candidatePrompts: out.split.candidate };
    // the candidate's rollouts and the safety set's one response per prompt
    const policySamples = out.candidate.steps * rl.promptsPerStep * rl.samplesPerPrompt + out.test.n;
    return { ...evaluateAll(ctx, { hc_rlhf: policy }), preferenceLogs: {}, policySamples, needsScoreModels: true, safetyTests: { hc_rlhf: safetyTest } };
  },
  mocan: (ctx) => {
    const policy = ctx.loadSft();
    const scorer = scorerOf(ctx);
    const out = trainMocan({
      policy,
      reference: ctx.loadSft(),
      tokenizer: ctx.tokenizer,
      train: ctx.pairs,
      prompts: ctx.trainPrompts,
      reward: scorer(ctx.rewardModel),
      cost: scorer(ctx.costModel),
      threshold: ctx.threshold,
      config: ctx.config.mocan,
      outDir: ctx.stageDir,
      progress: ctx.progress,
    });
    savePretrained(join(ctx.stageDir, 'model'), policy, { tokenizer: ctx.tokenizer, trainingConfig: { ...ctx.config.mocan, threshold: ctx.threshold, lambda: out.dual.lambda } });
    // the dual's samples of the SFT policy are the only responses MoCAN samples
    return { ...evaluateAll(ctx, { mocan: policy }), preferenceLogs: { mocan: out.preference.log }, policySamples: out.dual.samples, needsScoreModels: true };
  },
  micro: (ctx) => {
    const config = ctx.config.micro;
    if (ctx.annotatorPairs.length === 0) throw new ConfigError(`micro needs the world's per-annotator labels (world/annotations-raw.jsonl), and this run has none: rebuild the world (delete ${join(ctx.stageDir, '..', 'world')})`);
    const trained = trainMicroAndBaseline({ backbone: ctx.loadSft, tokenizer: ctx.tokenizer, train: ctx.annotatorPairs, config, outDir: ctx.stageDir, progress: ctx.progress });
    const t1 = performance.now();
    const micro: MicroComparison = {
      heads: config.heads,
      trainLabels: ctx.annotatorPairs.length,
      byGroup: ctx.judgeScores.byAnnotatorType(trained),
      routedWeights: routedWeights(trained.micro.routing, config.routing.eta, ctx.judgeScores.groupOf),
    };
    return { models: {}, preferenceLogs: {}, ...offline, evalSec: (performance.now() - t1) / 1000, robust: { micro } };
  },
  weak_to_strong: (ctx) => {
    const { config, tokenizer } = ctx;
    const w = config.weakToStrong.weak;
    const weakDir = join(ctx.stageDir, 'weak_sft', 'model');
    if (!existsSync(join(weakDir, 'config.json'))) {
      manualSeed(config.seed + 30);
      const lm = createCausalLM(
        parseModelConfig({ model_type: 'gpt2', n_embd: w.nEmbd, n_layer: w.nLayer, n_head: w.nHead, n_positions: config.model.nPositions, vocab_size: tokenizer.vocabSize, tie_word_embeddings: true, eos_token_id: tokenizer.eosId ?? null, pad_token_id: tokenizer.padId ?? null }),
      );
      const sft = SftConfigSchema.parse({ ...config.sft, epochs: w.sftEpochs });
      trainSft({ model: lm, tokenizer, train: ctx.sftTrain, test: [], config: sft, outDir: join(ctx.stageDir, 'weak_sft'), progress: ctx.progress });
      savePretrained(weakDir, lm, { tokenizer, trainingConfig: sft });
    }
    let judgeSec = 0;
    const judge = (m: SequenceScorer) => {
      const t = performance.now();
      const a = ctx.judgeScores.goldAccuracy(m);
      judgeSec += (performance.now() - t) / 1000;
      return a;
    };
    const weakToStrong = runWeakToStrong({
      weakBackbone: () => loadPretrained(weakDir).model as CausalLM,
      strongBackbone: ctx.loadSft,
      tokenizer,
      pairs: ctx.pairs,
      weakScore: config.reward,
      training: config.weakToStrong.training,
      seed: config.seed,
      outDir: ctx.stageDir,
      progress: ctx.progress,
      judge,
    });
    return { models: {}, preferenceLogs: {}, ...offline, evalSec: judgeSec, robust: { weakToStrong } };
  },
  alol: (ctx) => {
    const policy = ctx.loadSft();
    const scorer = scorerOf(ctx);
    const judges = { reward: scorer(ctx.rewardModel), cost: scorer(ctx.costModel), costWeight: ctx.config.alol.costWeight };
    const out = trainAlol({ policy, reference: ctx.loadSft(), tokenizer: ctx.tokenizer, items: alolItems(ctx.pairs), prompts: ctx.trainPrompts, judges, config: ctx.config.alol, outDir: ctx.stageDir, progress: ctx.progress });
    savePretrained(join(ctx.stageDir, 'model'), policy, { tokenizer: ctx.tokenizer, trainingConfig: ctx.config.alol });
    // the value head's samples of the SFT policy are the only responses A-LoL samples
    return { ...evaluateAll(ctx, { alol: policy }), preferenceLogs: {}, stepLogs: { alol: out.log }, policySamples: out.value.samples, needsScoreModels: true };
  },
};
