// The RL loop: per step, rollout (G samples per prompt; shared out over the ranks of a data-parallel job) -> rlStep (scoring, advantages, constraint, updates, log) -> checkpoint.
import { join } from 'node:path';
import { silentProgress, type Progress } from '../../core/progress.js';
import type { ImageTokens, PromptOptions } from '../../models/prompt.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { ConfigError } from '../../config/schema-cli.js';
import { manualSeed, stack, tidy, type Tensor } from '../../torch/index.js';
import { Rng } from '../../world/rng.js';
import { encodePrompt } from '../common/batching.js';
import { imageTokensOf } from '../common/model-input.js';
import { loadCheckpoint, saveCheckpoint, type TrainingState } from '../common/checkpoint.js';
import { startLora } from '../common/lora.js';
import { agreeOnStart } from '../common/training-run.js';
import { countFit, describeTruncation, emptyTruncationStats, fitExamples, fitLength, NothingFitsError, type TruncationStats } from '../common/truncation.js';
import type { RlConfig } from './config.js';
import { createRlContext, setLearningRates, type RlContext } from './context.js';
import { languageOf, readsImages, RowImages } from './images.js';
import type { RlMethod } from './method.js';
import type { RlModels } from './models.js';
import { gatherRollout, sampleRollout } from './rollout.js';
import { rlStep } from './step.js';
import { diversityMetrics, goldMetrics, rolloutTexts, type GoldJudge, type RlLogRecord } from './step-log.js';

export { RlDivergedError } from './diverged.js';
export type { RlModels, SequenceScorer } from './models.js';
export { decodeResponses, type GoldJudge, type RlLogRecord } from './step-log.js';

/** A prompt the policy practises on; `risky` marks harmful requests (for gold harmful rate). */
export interface RlPrompt {
  prompt: string;
  risky: boolean;
  /** Harm category of the prompt (PKU-SafeRLHF's, the world's risky topic), for per-category constraints; none = ''. */
  category?: string;
  /** Earlier turns of a multi-turn dialogue (oldest first), rendered before the prompt by `formatPrompt`. */
  context?: { role: 'system' | 'user' | 'assistant'; content: string }[];
  /** Where the prompt came from (`file:line`), to name it if it cannot fit. */
  source?: string;
  /**
   * The prompt's image as pixel values (3, H, W), preprocessed for the run's LLaVA models (`preprocessImages` with their
   * preprocessor_config.json); the prompt then starts with the image tokens (`encodePrompt`). Every model of the run
   * must then read images.
   */
  image?: Tensor;
  /** The topic the image shows (the built-in multimodal world): read only by the gold judge of the per-step log, never by training. */
  imageTopic?: string;
}

/** What fitting did: prompts with no room for `maxNewTokens` are skipped (never cut); PTX responses keep their start. */
export interface RlTruncation {
  prompts: TruncationStats;
  ptx: TruncationStats;
}

/** The longest sequence every model of the run reads (actor, reference, scorers, critics). */
function runContext(models: RlModels): number {
  const critics = Object.values(models.critics).map((c) => c?.contextLength);
  return fitLength(Infinity, models.actor.contextLength, models.reference.contextLength, models.rewardModel.contextLength, models.costModel?.contextLength, ...critics);
}

/**
 * Checks that every model of a run with image prompts reads images, with the actor's image token and image size, and
 * returns the actor's image token layout.
 */
function checkImageModels(models: RlModels, tokenizer: Tokenizer, prompts: readonly RlPrompt[]): ImageTokens {
  const { actor } = models;
  const roles: [string, unknown][] = [
    ['actor', actor],
    ['reference', models.reference],
    ['reward model', models.rewardModel],
    ['cost model', models.costModel],
    ...Object.entries(models.critics).map(([s, c]): [string, unknown] => [`${s} critic`, c]),
  ];
  const first = prompts.find((p) => p.image)?.source ?? `#${prompts.findIndex((p) => p.image)}`;
  for (const [role, m] of roles) {
    if (m !== undefined && !readsImages(m)) throw new ConfigError(`prompt ${first} has an image, but the ${role} reads text only: give every model of the run as a LLaVA folder (or drop the images)`);
  }
  if (!readsImages(actor)) throw new ConfigError('unreachable: the actor was checked');
  const spec = { tokenId: actor.config.image_token_index, perImage: actor.imageTokensPerImage, size: actor.config.vision_config.image_size };
  for (const [role, m] of roles) {
    if (!readsImages(m)) continue;
    const theirs = { tokenId: m.config.image_token_index, perImage: m.imageTokensPerImage, size: m.config.vision_config.image_size };
    if (JSON.stringify(theirs) !== JSON.stringify(spec)) {
      throw new ConfigError(`the ${role}'s images differ from the actor's (image token ${theirs.tokenId}, ${theirs.perImage} features of ${theirs.size}x${theirs.size} images vs ${spec.tokenId}, ${spec.perImage}, ${spec.size}x${spec.size}): the models of a run must share the image layout`);
    }
  }
  return imageTokensOf(actor, tokenizer) as ImageTokens;
}

/**
 * The step's images: the distinct images of the picked prompts (pixels (N, 3, H, W)) and which one each row shows, or
 * undefined when no picked prompt has one (a text-only step runs exactly as without images).
 */
function stepImages(ctx: RlContext, prompts: readonly RlPrompt[], picked: readonly number[]): RowImages | undefined {
  const order: number[] = [];
  const slot = new Map<number, number>();
  const imageOf = picked.map((i) => {
    if (!prompts[i]?.image) return -1;
    if (!slot.has(i)) {
      slot.set(i, order.length);
      order.push(i);
    }
    return slot.get(i) as number;
  });
  if (order.length === 0) return undefined;
  return RowImages.create(stack(order.map((i) => prompts[i]?.image as Tensor), 0), imageOf, ctx.towers);
}

/**
 * Keeps the prompts (chat-templated ids) that leave room for `maxNewTokens` in `context` tokens;
 * returns their indices into `prompts` and the counts. A prompt is never cut: its start holds the
 * template and the question, its end the cue the response follows.
 */
function fitPrompts(encoded: readonly number[][], prompts: readonly RlPrompt[], context: number, maxNewTokens: number): { kept: number[]; stats: TruncationStats } {
  const maxPrompt = context - maxNewTokens;
  const stats = emptyTruncationStats(maxPrompt);
  const kept: number[] = [];
  encoded.forEach((ids, i) => {
    const fits = ids.length <= maxPrompt;
    countFit(stats, fits ? 'kept' : 'skipped', prompts[i]?.source ?? `#${i}`);
    if (fits) kept.push(i);
  });
  return { kept, stats };
}

/** What a checkpoint holds: enough to continue a run as if it had never stopped. */
interface RlCheckpoint {
  step: number;
  log: RlLogRecord[];
  actor: TrainingState;
  actorOpt: TrainingState;
  critics: TrainingState[];
  criticOpts: TrainingState[];
  method?: TrainingState;
  /** PPO-max's running score statistics (absent in checkpoints written before they existed). */
  normalizers?: TrainingState;
}

function saveRl(dir: string, ctx: RlContext, step: number, log: RlLogRecord[]): void {
  const state: RlCheckpoint = {
    step,
    log,
    actor: ctx.models.actor.stateDict(),
    actorOpt: ctx.actorOpt.stateDict() as TrainingState,
    critics: ctx.critics.map(([, c]) => c.stateDict()),
    criticOpts: ctx.criticOpts.map((o) => o.stateDict() as TrainingState),
    ...(ctx.method.stateDict ? { method: ctx.method.stateDict() } : {}),
    normalizers: ctx.normalizers.stateDict(),
  };
  saveCheckpoint(dir, state as unknown as TrainingState);
}

/** Restores actor, critics, optimisers and method state from `dir`; returns the step and log, or null without a checkpoint. */
function resumeRl(dir: string, ctx: RlContext): { step: number; log: RlLogRecord[] } | null {
  const saved = loadCheckpoint(dir) as RlCheckpoint | null;
  if (!saved) return null;
  ctx.models.actor.loadStateDict(saved.actor as never);
  ctx.actorOpt.loadStateDict(saved.actorOpt as never);
  ctx.critics.forEach(([, c], i) => c.loadStateDict(saved.critics[i] as never));
  ctx.criticOpts.forEach((o, i) => o.loadStateDict(saved.criticOpts[i] as never));
  if (saved.method !== undefined) ctx.method.loadStateDict?.(saved.method);
  if (saved.normalizers !== undefined) ctx.normalizers.loadStateDict(saved.normalizers);
  return { step: saved.step, log: saved.log };
}

export function trainRl(args: {
  method: RlMethod;
  models: RlModels;
  tokenizer: Tokenizer;
  prompts: readonly RlPrompt[];
  /** SFT examples for the optional PTX loss. */
  ptxData?: readonly { prompt: string; response: string }[];
  config: RlConfig;
  outDir: string;
  judge?: GoldJudge;
  progress?: Progress;
  /** How prompts (and PTX prompts) become text (default: the tokenizer's chat template). */
  prompt?: PromptOptions;
}): { steps: number; log: RlLogRecord[]; truncation: RlTruncation } {
  const { method, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const tokens = { padId: tokenizer.padId ?? 0, eosId: tokenizer.eosId };
  const context = runContext(args.models);
  const image = args.prompts.some((p) => p.image) ? checkImageModels(args.models, tokenizer, args.prompts) : undefined;
  // an image prompt's placeholder becomes the actor's image tokens (the models were checked to share that layout)
  const allPrompts = args.prompts.map((p) => encodePrompt(tokenizer, p.image ? { ...p, pixels: p.image } : p, image ? { ...args.prompt, image } : args.prompt));
  const fitted = fitPrompts(allPrompts, args.prompts, context, config.maxNewTokens);
  if (fitted.stats.skipped > 0) {
    const s = fitted.stats;
    progress.log(
      `${method.name}: ${s.skipped} of ${s.total} prompts skipped: longer than ${s.maxLength} tokens (context ${context} − maxNewTokens ${config.maxNewTokens}): ${s.skippedAt.join(', ')}${s.skipped > s.skippedAt.length ? ', …' : ''}`,
    );
  }
  if (fitted.kept.length === 0) {
    throw new NothingFitsError(
      `${method.name}: none of the ${args.prompts.length} prompts fits: each is longer than ${fitted.stats.maxLength} tokens (the models' context ${context} minus maxNewTokens ${config.maxNewTokens}); lower maxNewTokens or use shorter prompts`,
    );
  }
  const prompts = fitted.kept.map((i) => args.prompts[i] as RlPrompt);
  const encodedPrompts = fitted.kept.map((i) => allPrompts[i] as number[]);
  const ptxFit = fitExamples(tokenizer, args.ptxData ?? [], context, 'response-start', args.prompt);
  if (ptxFit.stats.truncated + ptxFit.stats.skipped > 0) progress.log(`${method.name}: PTX: ${describeTruncation(ptxFit.stats, 'examples', 'response-start')}`);
  const ptx = ptxFit.pairs;
  const truncation: RlTruncation = { prompts: fitted.stats, ptx: ptxFit.stats };
  // Adapters go on before the optimisers are made and a checkpoint is loaded into them.
  const { actor: a, critics: cs } = args.models;
  if ((config.actorLora && readsImages(a)) || (config.criticLora && Object.values(cs).some(readsImages))) {
    throw new ConfigError('LoRA on LLaVA models is not supported yet: drop --rl-actor-lora-* / --rl-critic-lora-* (the LLaVA models then train in full)');
  }
  const actorLora = readsImages(a) ? null : startLora(a, config.actorLora, config.seed);
  const criticLoras = Object.values(args.models.critics).map((c, i) => (c && !readsImages(c) ? startLora(c, config.criticLora, config.seed + 1 + i) : null));
  const ctx = createRlContext(method, args.models, config, ptx, tokens.padId);

  const ckptDir = join(args.outDir, 'checkpoint');
  const resumed = resumeRl(ckptDir, ctx);
  let step = resumed?.step ?? 0;
  const log = resumed?.log ?? [];
  const { job } = ctx;
  agreeOnStart(job, step, ckptDir);
  job.broadcast([ctx.models.actor, ...ctx.critics.map(([, c]) => c)].flatMap((m) => m.parameters()));
  if (resumed) progress.log(`${method.name}: resuming from step ${step}`);

  progress.start(method.name, config.steps);
  progress.update(step);
  while (step < config.steps) {
    // Seeds derive from the step, so a resumed run draws the same prompts and samples.
    manualSeed(config.seed * 100_003 + step);
    const rng = new Rng(config.seed).derive(`step-${step}`);
    // G = samplesPerPrompt consecutive rows per drawn prompt: the groups of the critic-free baselines.
    const picked = Array.from({ length: config.promptsPerStep }, () => rng.int(prompts.length)).flatMap((i) => Array<number>(config.samplesPerPrompt).fill(i));
    const ptxRng = rng.derive('ptx');
    setLearningRates(ctx, step);
    const record = tidy(() => {
      // with several processes each rank samples its share of the rows (its own random stream), and every rank gets them all
      const rows = Array.from(picked, (_, r) => r);
      const share = job.shareOrStandIn(rows);
      // the picked prompts' images: each distinct frozen tower runs once on them here, for every pass of the step
      const images = stepImages(ctx, prompts, picked);
      if (job.worldSize > 1) manualSeed(new Rng(config.seed).derive(`step-${step}-rank-${job.rank}`).int(2 ** 31));
      const sampled = sampleRollout(ctx.models.actor, share.items.map((r) => encodedPrompts[picked[r] as number] as number[]), config, tokens, undefined, images?.select(share.items));
      const rollout = { ...gatherRollout(job, sampled, tokens.padId, share.standIn), categories: picked.map((i) => prompts[i]?.category ?? ''), ...(images ? { images } : {}) };
      const out = rlStep(ctx, rollout, step + 1, ptxRng).record;
      const texts = args.judge || config.diversitySample > 0 || config.embeddingDiversityEvery > 0 ? rolloutTexts(tokenizer, rollout) : [];
      const every = config.embeddingDiversityEvery;
      // the frozen reference embeds: the same space at every step, and the update just made does not move it
      const embedder = every > 0 && ((step + 1) % every === 0 || step + 1 === config.steps) ? { model: languageOf(ctx.models.reference), tokenizer } : undefined;
      return {
        ...out,
        ...(args.judge ? goldMetrics(args.judge, picked.map((i) => prompts[i] as RlPrompt), texts) : {}),
        ...diversityMetrics(texts, config.diversitySample, embedder),
      };
    });
    step++;
    log.push(record);
    progress.update(step, {
      reward: record.reward,
      ...(record.cost !== undefined ? { cost: record.cost } : {}),
      ...(record.lambda !== undefined ? { lambda: record.lambda } : {}),
      kl: record.kl,
      ...(record.goldHarmfulRate !== undefined ? { harmful: record.goldHarmfulRate } : {}),
    });
    if (job.isMain && (step % config.checkpointEvery === 0 || step === config.steps)) saveRl(ckptDir, ctx, step, log);
  }
  progress.stop();
  actorLora?.finish(args.outDir);
  for (const l of criticLoras) l?.merge();
  return { steps: step, log, truncation };
}
