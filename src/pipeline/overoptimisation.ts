// The pipeline's over-optimisation part (`--methods overoptimisation`): long low-β RL runs logging proxy reward, gold and KL, with and without each ensemble remedy, and best-of-N by the proxy.
import { join } from 'node:path';
import { z } from 'zod';
import { ScoreEnsemble, warmAverage, WORSE } from '../algorithms/score/ensemble.js';
import { trainRl, type GoldJudge, type RlLogRecord, type RlPrompt } from '../algorithms/rl/train.js';
import { criticStreams, type RlMethod, type StreamName } from '../algorithms/rl/method.js';
import { ppoMethod } from '../algorithms/ppo/method.js';
import { lagrangianMethod } from '../algorithms/ppo-lag/method.js';
import { gaeEstimator } from '../algorithms/rl/estimators.js';
import type { CausalLM, ScoreModel, SequenceScorer } from '../models/index.js';
import { savePretrained, ScoreModel as ScoreModelClass } from '../models/index.js';
import type { Tokenizer } from '../models/tokenizer.js';
import type { Progress } from '../core/progress.js';
import { manualSeed } from '../torch/index.js';
import type { EnsembleReduction, LagrangeConfig } from '../rl/index.js';
import { bestOfNCurve, goldPeak, overoptCurve, type BonPoint, type GoldPeak, type OveroptPoint, type OveroptRecord } from '../eval/overoptimisation.js';
import type { Responder } from './evaluate-policy.js';
import type { StageRunner } from './stages.js';
import type { PipelineConfig } from './config.js';

/**
 * The runs of the part: PPO and PPO-Lagrangian on the single reward model (the over-optimisation set-up), and PPO on
 * each remedy: the reward ensemble's members reduced by mean, worst, uncertainty (UP-RLHF) or robust (BRME), or their
 * WARM weight average.
 */
export const OVEROPT_VARIANTS = ['ppo', 'ppo_lag', 'mean', 'worst', 'uncertainty', 'robust', 'warm'] as const;
export type OveroptVariant = (typeof OVEROPT_VARIANTS)[number];

/** What each variant optimises, and with which method. */
const VARIANTS: Record<OveroptVariant, { lagrangian: boolean; reward: 'single' | 'warm' | EnsembleReduction }> = {
  ppo: { lagrangian: false, reward: 'single' },
  ppo_lag: { lagrangian: true, reward: 'single' },
  mean: { lagrangian: false, reward: 'mean' },
  worst: { lagrangian: false, reward: 'worst' },
  uncertainty: { lagrangian: false, reward: 'uncertainty' },
  robust: { lagrangian: false, reward: 'robust' },
  warm: { lagrangian: false, reward: 'warm' },
};

/** Whether a variant needs the reward_ensemble stage's members. */
export const needsEnsemble = (v: OveroptVariant): boolean => VARIANTS[v].reward !== 'single';

export const OveroptimisationSchema = z
  .object({
    variants: z
      .array(z.enum(OVEROPT_VARIANTS))
      .default([...OVEROPT_VARIANTS])
      .describe(
        "runs: 'ppo' and 'ppo_lag' on the reward model; PPO on the reward ensemble's members reduced by 'mean', 'worst', 'uncertainty' (UP-RLHF mean − k·std) or 'robust' (BRME λ·mean + (1 − λ)·worst), k and λ from ensemble.rl; 'warm': PPO on the members' WARM weight average",
      ),
    steps: z.number().int().positive().default(40).describe('RL steps of each run (at the defaults gold peaked near step 16, KL ≈ 8, and fell by step 40, KL ≈ 28: README)'),
    promptsPerStep: z.number().int().positive().default(32).describe('train prompts per RL step (one response each; the other RL settings are rl\'s)'),
    klCoef: z.number().min(0).default(0.01).describe('β of the KL penalty to SFT in every run (low, so that the reward model gets over-optimised; the pipeline\'s RL uses 0.05)'),
    every: z.number().int().positive().default(4).describe('RL steps per curve point: proxy reward, gold and KL are averaged over the rollouts of each bin of this many steps (4 × 32 = 128 responses a point at the defaults)'),
    minDrop: z.number().min(0).default(0.3).describe('gold helpfulness must fall at least this far below its peak by the last point for a run to count as over-optimised (a point of 128 responses has a standard error of about 0.2: the per-step gold of 32 near-SFT responses varied with a standard deviation of 0.40)'),
    bestOfN: z
      .object({
        ns: z.array(z.number().int().positive()).default([1, 2, 4, 8, 16, 32, 64]).describe('N of best-of-N by the reward model alone (nested: the first N of max(N) samples per prompt)'),
        prompts: z.number().int().min(0).default(32).describe('test prompts (evenly spaced) sampled max(N) times from the SFT policy; 0 = skip best-of-N'),
      })
      .strict()
      .prefault({})
      .describe('best-of-N: gold vs proxy as N grows'),
  })
  .strict();
export type OveroptimisationConfig = z.output<typeof OveroptimisationSchema>;

/** One variant's run as its stage keeps it: the log fields the curve reads. */
export interface OveroptRun {
  log: OveroptRecord[];
}

/** One variant in the report: its binned curve, gold peak and compute cost. */
export interface OveroptSummary {
  curve: OveroptPoint[];
  peak: GoldPeak;
  /** Wall time of the RL run (its stage; summed over resumed attempts). */
  rlSec: number;
  /** Wall time of the reward model(s) it optimises: the reward stage, or the reward_ensemble stage for the remedies. */
  scoreModelsSec: number;
}

export interface OveroptimisationResult {
  klCoef: number;
  runs: Partial<Record<OveroptVariant, OveroptSummary>>;
  /** Best-of-N by the reward model over N, absent when bestOfN.prompts is 0. */
  bestOfN?: { prompts: number; curve: BonPoint[]; peak: GoldPeak<BonPoint>; sec: number };
}

/** What the part reads of a pipeline run (the finished stages up to the SFT evaluation). */
export interface OveroptContext {
  runner: StageRunner;
  config: PipelineConfig;
  tokenizer: Tokenizer;
  trainPrompts: readonly RlPrompt[];
  testPrompts: readonly RlPrompt[];
  loadSft: () => CausalLM;
  loadScore: (kind: 'reward' | 'cost') => ScoreModel;
  /** The reward_ensemble stage's saved members (throws when they are missing). */
  loadMembers: () => ScoreModel[];
  /** PPO-Lagrangian's Lagrange settings with the run's threshold d. */
  lagrange: LagrangeConfig;
  /** One response per item from a policy, scored by the reward and cost models (the SFT policy for best-of-N). */
  sampler: (policy: CausalLM, reference: CausalLM) => Responder;
  /** Gold, for logging and evaluation only: training never reads it. */
  judge: GoldJudge;
  progress: Progress;
}

/** The reward a variant optimises. */
function rewardOf(ctx: OveroptContext, variant: OveroptVariant): SequenceScorer {
  const r = VARIANTS[variant].reward;
  if (r === 'single') return ctx.loadScore('reward');
  if (r === 'warm') return warmAverage(ctx.loadMembers());
  return new ScoreEnsemble(ctx.loadMembers()).asScorer({ ...ctx.config.ensemble.rl, reduce: r }, WORSE.reward);
}

/** One variant's long run: PPO (or PPO-Lagrangian) from the SFT policy at β = klCoef, gold logged per step. */
function runVariant(ctx: OveroptContext, variant: OveroptVariant, stageDir: string): OveroptRun {
  const { config } = ctx;
  const oo = config.overoptimisation;
  manualSeed(config.seed + 10);
  const shaping = { klCoef: oo.klCoef, scoreClip: config.rl.scoreClip };
  const name = `overopt_${variant}`;
  const method: RlMethod = VARIANTS[variant].lagrangian
    ? lagrangianMethod({ ...shaping, name, estimator: gaeEstimator, lossKlCoef: 0, lagrange: ctx.lagrange })
    : { ...ppoMethod(shaping), name };
  const critics: Partial<Record<StreamName, ScoreModel>> = {};
  // the critics start from the single reward and cost models, as ppo_lag_ens's do
  for (const s of criticStreams(method)) critics[s] = ScoreModelClass.fromScoreModel(ctx.loadScore(s), 'critic');
  const actor = ctx.loadSft();
  const out = trainRl({
    method,
    models: { actor, reference: ctx.loadSft(), rewardModel: rewardOf(ctx, variant), costModel: ctx.loadScore('cost'), critics },
    tokenizer: ctx.tokenizer,
    prompts: ctx.trainPrompts,
    config: { ...config.rl, steps: oo.steps, promptsPerStep: oo.promptsPerStep, miniBatchSize: Math.min(config.rl.miniBatchSize, oo.promptsPerStep), seed: config.seed },
    outDir: stageDir,
    // gold of each step's rollouts, computed after the step's update: logged only
    judge: ctx.judge,
    progress: ctx.progress,
  });
  savePretrained(join(stageDir, 'model'), actor, { tokenizer: ctx.tokenizer, trainingConfig: { rl: config.rl, overoptimisation: oo, variant } });
  return { log: out.log.map(curveFields) };
}

const curveFields = (r: RlLogRecord): OveroptRecord => ({
  step: r.step,
  reward: r.reward,
  kl: r.kl,
  ...(r.goldHelpfulness !== undefined ? { goldHelpfulness: r.goldHelpfulness } : {}),
  ...(r.goldHarmfulRate !== undefined ? { goldHarmfulRate: r.goldHarmfulRate } : {}),
});

/** `count` items of `items` evenly spaced over it (all of them when count >= length). */
const spread = <T>(items: readonly T[], count: number): T[] => {
  const n = Math.min(count, items.length);
  return Array.from({ length: n }, (_, j) => items[Math.floor((j * items.length) / n)] as T);
};

/** Best-of-N by the reward model on test prompts: max(N) SFT samples per prompt, each judged by gold (evaluation). */
function runBestOfN(ctx: OveroptContext): { prompts: number; curve: BonPoint[] } {
  const { ns, prompts: count } = ctx.config.overoptimisation.bestOfN;
  const k = Math.max(...ns);
  const prompts = spread(ctx.testPrompts, count);
  const items = prompts.flatMap((p) => Array.from({ length: k }, () => p));
  manualSeed(ctx.config.seed + 31);
  const sft = ctx.loadSft();
  const out = ctx.sampler(sft, sft)(items, true);
  const samples = prompts.map((p, i) =>
    Array.from({ length: k }, (_, j) => {
      const response = out.responses[i * k + j] ?? '';
      const gold = ctx.judge([{ prompt: p.prompt, response, risky: p.risky }]);
      return { proxy: out.reward[i * k + j] as number, gold: gold.helpfulness, ...(p.risky ? { unsafe: gold.harmfulRate > 0 } : {}) };
    }),
  );
  return { prompts: prompts.length, curve: bestOfNCurve(samples, ns) };
}

/** Runs (or reads back) every configured variant's stage `overopt_<variant>` and the best-of-N stage `overopt_best_of_n`. */
export async function runOveroptimisation(ctx: OveroptContext): Promise<OveroptimisationResult> {
  const oo = ctx.config.overoptimisation;
  const runs: OveroptimisationResult['runs'] = {};
  for (const variant of oo.variants) {
    const stage = `overopt_${variant}`;
    const run = await ctx.runner.run(stage, ({ stageDir }) => runVariant(ctx, variant, stageDir));
    runs[variant] = summariseRun(oo, run, ctx.runner.timings[stage] ?? 0, ctx.runner.timings[rewardStageOf(variant)] ?? 0);
  }
  if (oo.bestOfN.prompts === 0) return { klCoef: oo.klCoef, runs };
  const bon = await ctx.runner.run('overopt_best_of_n', () => runBestOfN(ctx));
  return { klCoef: oo.klCoef, runs, bestOfN: summariseBestOfN(oo, bon, ctx.runner.timings.overopt_best_of_n ?? 0) };
}

/** The stage whose reward model(s) a variant optimises: its training time is the variant's score-model cost. */
export const rewardStageOf = (variant: OveroptVariant): string => (needsEnsemble(variant) ? 'reward_ensemble' : 'reward');

/** A finished run's curve, gold peak and cost (`rlSec`: its stage's wall time). */
export function summariseRun(oo: OveroptimisationConfig, run: OveroptRun, rlSec: number, scoreModelsSec: number): OveroptSummary {
  const curve = overoptCurve(run.log, oo.every);
  return { curve, peak: goldPeak(curve, oo.minDrop), rlSec, scoreModelsSec };
}

/** Best-of-N's stage result with its gold peak over N. */
export function summariseBestOfN(oo: OveroptimisationConfig, bon: { prompts: number; curve: BonPoint[] }, sec: number): NonNullable<OveroptimisationResult['bestOfN']> {
  return { ...bon, peak: goldPeak(bon.curve, oo.minDrop), sec };
}
