// The PPO-family loop: per step, rollout -> rlStep (scoring, advantages, constraint, updates, log) -> checkpoint.
import { join } from 'node:path';
import { silentProgress, type Progress } from '../../core/progress.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { manualSeed, tidy } from '../../torch/index.js';
import { Rng } from '../../world/rng.js';
import { encodePair, promptText } from '../common/batching.js';
import { loadCheckpoint, saveCheckpoint, type TrainingState } from '../common/checkpoint.js';
import type { RlConfig } from './config.js';
import { createRlContext, setLearningRates, type RlContext } from './context.js';
import type { RlMethod } from './method.js';
import type { RlModels } from './models.js';
import { sampleRollout } from './rollout.js';
import { rlStep } from './step.js';
import { goldMetrics, type GoldJudge, type RlLogRecord } from './step-log.js';

export { RlDivergedError } from './diverged.js';
export type { RlModels, SequenceScorer } from './models.js';
export { decodeResponses, type GoldJudge, type RlLogRecord } from './step-log.js';

/** A prompt the policy practises on; `risky` marks harmful requests (for gold harmful rate). */
export interface RlPrompt {
  prompt: string;
  risky: boolean;
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
}): { steps: number; log: RlLogRecord[] } {
  const { method, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const tokens = { padId: tokenizer.padId ?? 0, eosId: tokenizer.eosId };
  const encodedPrompts = args.prompts.map((p) => tokenizer.encode(promptText(tokenizer, p.prompt), { addSpecialTokens: false }));
  const ptx = (args.ptxData ?? []).map((e) => encodePair(tokenizer, e.prompt, e.response));
  const ctx = createRlContext(method, args.models, config, ptx, tokens.padId);

  const ckptDir = join(args.outDir, 'checkpoint');
  const resumed = resumeRl(ckptDir, ctx);
  let step = resumed?.step ?? 0;
  const log = resumed?.log ?? [];
  if (resumed) progress.log(`${method.name}: resuming from step ${step}`);

  progress.start(method.name, config.steps);
  progress.update(step);
  while (step < config.steps) {
    // Seeds derive from the step, so a resumed run draws the same prompts and samples.
    manualSeed(config.seed * 100_003 + step);
    const rng = new Rng(config.seed).derive(`step-${step}`);
    const picked = Array.from({ length: config.promptsPerStep }, () => rng.int(args.prompts.length));
    const ptxRng = rng.derive('ptx');
    setLearningRates(ctx, step);
    const record = tidy(() => {
      const rollout = sampleRollout(ctx.models.actor, picked.map((i) => encodedPrompts[i] as number[]), config, tokens);
      const out = rlStep(ctx, rollout, step + 1, ptxRng).record;
      return args.judge ? { ...out, ...goldMetrics(args.judge, tokenizer, picked.map((i) => args.prompts[i] as RlPrompt), rollout) } : out;
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
    if (step % config.checkpointEvery === 0 || step === config.steps) saveRl(ckptDir, ctx, step, log);
  }
  progress.stop();
  return { steps: step, log };
}
