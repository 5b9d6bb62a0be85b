// The PPO-family loop: rollout -> score -> method streams -> GAE per critic -> clipped actor and critic updates.
import { join } from 'node:path';
import { silentProgress, type Progress } from '../../core/progress.js';
import { criticLoss, ppoPolicyLoss, tokenCrossEntropy } from '../../losses/index.js';
import { generate, sequenceLogProbs, type CausalLM, type ScoreModel } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { gae, whitenAdvantages } from '../../rl/index.js';
import { AdamW, clipGradNorm, manualSeed, noGrad, tensor, tidy, type Tensor } from '../../torch/index.js';
import { Rng } from '../../world/rng.js';
import { encodePair, padForTraining, padPromptsLeft, promptText, type EncodedPair } from '../common/batching.js';
import { loadCheckpoint, saveCheckpoint, type TrainingState } from '../common/checkpoint.js';
import type { RlConfig } from './config.js';
import type { RlMethod, ScoredRollout, StreamName } from './method.js';

/** A prompt the policy practises on; `risky` marks harmful requests (for gold harmful rate). */
export interface RlPrompt {
  prompt: string;
  risky: boolean;
}

/** Per-step log, the source of the report's training curves. */
export interface RlLogRecord {
  step: number;
  reward: number;
  cost?: number;
  kl: number;
  actorLoss: number;
  criticLoss: Record<string, number>;
  responseLength: number;
  lambda?: number;
  jc?: number;
  clipFraction: number;
  /** Gold metrics of this step's rollouts, when a judge is given (the built-in world). */
  goldHarmfulRate?: number;
  goldHelpfulness?: number;
}

/**
 * What RL needs of a reward or cost model: the end-of-sequence score of each token sequence.
 * A `ScoreModel` is one; tests use exact score tables (a task whose optimum is known).
 */
export interface SequenceScorer {
  /** inputIds, attentionMask: (B, L) -> endScores (B,). */
  forward(inputIds: Tensor, attentionMask: Tensor): { endScores: Tensor };
  eval(): unknown;
}

export interface RlModels {
  actor: CausalLM;
  /** Frozen reference (the SFT model). */
  reference: CausalLM;
  rewardModel: SequenceScorer;
  costModel?: SequenceScorer;
  /** One critic per stream the method declares (initialised from the stream's score model). */
  critics: Partial<Record<StreamName, ScoreModel>>;
}

/** Scores generated responses with the gold oracle (built-in world) for logging. */
export type GoldJudge = (items: { prompt: string; response: string; risky: boolean }[]) => { harmfulRate: number; helpfulness: number };

/** RL produced non-finite numbers: names the step and the quantity, so a run stops with a reason. */
export class RlDivergedError extends Error {
  override name = 'RlDivergedError';
}

function assertFinite(what: string, values: readonly number[], step: number, hint: string): void {
  if (!values.every(Number.isFinite)) {
    throw new RlDivergedError(`RL step ${step}: ${what} is not finite (${values.filter((v) => !Number.isFinite(v)).length} of ${values.length} values). ${hint}`);
  }
}

/** Response-aligned slice of per-position outputs: positions L-1 … L+T-2 predict/evaluate response tokens 0 … T-1. */
function responseSlice(x: Tensor, promptLength: number, responseLength: number): Tensor {
  return x.narrow(1, promptLength - 1, responseLength);
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
  const { method, models, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const padId = tokenizer.padId ?? 0;
  const eosId = tokenizer.eosId;
  const encodedPrompts = args.prompts.map((p) => tokenizer.encode(promptText(tokenizer, p.prompt), { addSpecialTokens: false }));
  const ptx: EncodedPair[] = (args.ptxData ?? []).map((e) => encodePair(tokenizer, e.prompt, e.response));
  const critics = method.streams.map((s) => {
    const c = models.critics[s];
    if (!c) throw new Error(`${method.name}: no critic for stream '${s}'`);
    return [s, c] as const;
  });
  if (method.usesCost && !models.costModel) throw new Error(`${method.name}: needs a cost model`);
  const actorParams = models.actor.parameters();
  const actorOpt = new AdamW(actorParams, { lr: config.actorOptim.lr, weightDecay: config.actorOptim.weightDecay });
  const criticOpts = critics.map(([, c]) => new AdamW(c.parameters(), { lr: config.criticOptim.lr, weightDecay: config.criticOptim.weightDecay }));
  models.reference.eval();
  models.rewardModel.eval();
  models.costModel?.eval();

  const ckptDir = join(args.outDir, 'checkpoint');
  let step = 0;
  let log: RlLogRecord[] = [];
  type Saved = { step: number; log: RlLogRecord[]; actor: TrainingState; actorOpt: TrainingState; critics: TrainingState[]; criticOpts: TrainingState[]; method?: TrainingState };
  const saved = loadCheckpoint(ckptDir) as Saved | null;
  if (saved) {
    models.actor.loadStateDict(saved.actor as never);
    actorOpt.loadStateDict(saved.actorOpt as never);
    critics.forEach(([, c], i) => c.loadStateDict(saved.critics[i] as never));
    criticOpts.forEach((o, i) => o.loadStateDict(saved.criticOpts[i] as never));
    if (saved.method !== undefined) method.loadStateDict?.(saved.method);
    step = saved.step;
    log = saved.log;
    progress.log(`${method.name}: resuming from step ${step}`);
  }

  progress.start(method.name, config.steps);
  progress.update(step);
  while (step < config.steps) {
    // Seeds derive from the step, so a resumed run draws the same prompts and samples.
    manualSeed(config.seed * 100_003 + step);
    const rng = new Rng(config.seed).derive(`step-${step}`);
    const picked = Array.from({ length: config.promptsPerStep }, () => rng.int(args.prompts.length));
    const record = tidy(() => rlStep(picked, rng.derive('ptx')));
    step++;
    log.push(record);
    progress.update(step, {
      reward: record.reward,
      ...(record.cost !== undefined ? { cost: record.cost } : {}),
      ...(record.lambda !== undefined ? { lambda: record.lambda } : {}),
      kl: record.kl,
      ...(record.goldHarmfulRate !== undefined ? { harmful: record.goldHarmfulRate } : {}),
    });
    if (step % config.checkpointEvery === 0 || step === config.steps) {
      const state: Saved = {
        step,
        log,
        actor: models.actor.stateDict(),
        actorOpt: actorOpt.stateDict() as TrainingState,
        critics: critics.map(([, c]) => c.stateDict()),
        criticOpts: criticOpts.map((o) => o.stateDict() as TrainingState),
        ...(method.stateDict ? { method: method.stateDict() } : {}),
      };
      saveCheckpoint(ckptDir, state as unknown as TrainingState);
    }
  }
  progress.stop();
  return { steps: step, log };

  function rlStep(picked: number[], ptxRng: Rng): RlLogRecord {
    // --- rollout -------------------------------------------------------------------------
    const prompts = padPromptsLeft(picked.map((i) => encodedPrompts[i] as number[]), padId);
    const L = prompts.ids[0]?.length ?? 0;
    models.actor.eval();
    const gen = noGrad(() =>
      generate(models.actor, tensor(prompts.ids, { dtype: 'int64' }), tensor(prompts.attentionMask, { dtype: 'int64' }), {
        maxNewTokens: config.maxNewTokens,
        temperature: config.temperature,
        topP: config.topP,
        stopTokenIds: eosId === undefined ? [] : [eosId],
        padId,
      }),
    );
    const seq = gen.sequences;
    const attn = gen.attentionMask;
    const mask = gen.responseMask.float();
    const T = mask.shape[1] as number;
    // --- scoring (no gradient) --------------------------------------------------------------
    const scored = noGrad(() => {
      const refLogProbs = responseSlice(sequenceLogProbs(models.reference, seq, attn), L, T);
      const reward = models.rewardModel.forward(seq, attn).endScores;
      const cost = method.usesCost ? (models.costModel as SequenceScorer).forward(seq, attn).endScores : null;
      const values = Object.fromEntries(critics.map(([s, c]) => [s, responseSlice(c.forward(seq, attn).scores, L, T).mul(mask)]));
      return { refLogProbs, reward, cost, values: values as Record<StreamName, Tensor> };
    });
    assertFinite('the reward model score', scored.reward.toNumbers(), step + 1, 'Check the reward model checkpoint.');
    if (scored.cost) assertFinite('the cost model score', scored.cost.toNumbers(), step + 1, 'Check the cost model checkpoint.');
    const oldLogProbs = gen.logProbs.mul(mask);
    const kl = oldLogProbs.sub(scored.refLogProbs).mul(mask);
    const rollout: ScoredRollout = { mask, kl, reward: scored.reward, cost: scored.cost };
    const extra = method.beforeUpdate?.(rollout) ?? {};
    const tokenScores = method.tokenScores(rollout);
    const advantages = {} as Record<StreamName, Tensor | undefined>;
    const returns = {} as Record<StreamName, Tensor>;
    for (const [s] of critics) {
      const g = gae(tokenScores[s] as Tensor, scored.values[s], mask, config.gamma, config.gaeLambda);
      advantages[s] = g.advantages;
      returns[s] = g.returns;
    }
    let actorAdv = method.actorAdvantage(advantages);
    if (config.whitenAdvantages) actorAdv = whitenAdvantages(actorAdv, mask);
    // --- PPO updates ---------------------------------------------------------------------------
    const n = picked.length;
    let actorLossSum = 0;
    let clipSum = 0;
    let updates = 0;
    const criticLossSum: Record<string, number> = {};
    models.actor.train();
    for (let epoch = 0; epoch < config.ppoEpochs; epoch++) {
      for (let start = 0; start < n; start += config.miniBatchSize) {
        tidy(() => {
          const size = Math.min(config.miniBatchSize, n - start);
          const rows = tensor(Array.from({ length: size }, (_, i) => start + i), { dtype: 'int64' });
          const mb = (x: Tensor) => x.indexSelect(0, rows);
          const mbMask = mb(mask);
          actorOpt.zeroGrad();
          const logProbs = responseSlice(sequenceLogProbs(models.actor, mb(seq), mb(attn)), L, T);
          const pg = ppoPolicyLoss(logProbs, mb(oldLogProbs), mb(actorAdv), mbMask, config.clipRange);
          let loss = pg.loss;
          if (config.ptxCoef > 0 && ptx.length) {
            const batch = Array.from({ length: size }, () => ptx[ptxRng.int(ptx.length)] as EncodedPair);
            const b = padForTraining(batch, padId);
            const ids = tensor(b.ids, { dtype: 'int64' });
            const len = b.ids[0]?.length ?? 0;
            const { logits } = models.actor.forward(ids, tensor(b.attentionMask, { dtype: 'int64' }));
            const ptxLoss = tokenCrossEntropy(logits.narrow(1, 0, len - 1), ids.narrow(1, 1, len - 1), tensor(b.responseMask).narrow(1, 1, len - 1));
            loss = loss.add(ptxLoss.loss.mul(config.ptxCoef));
          }
          assertFinite('the actor loss', [loss.item()], step + 1, 'Lower rl.actorOptim.lr or raise the KL coefficient; the checkpoint before this step is intact.');
          loss.backward();
          clipGradNorm(actorParams, config.actorOptim.gradClip);
          actorOpt.step();
          actorLossSum += pg.loss.item();
          clipSum += pg.metrics.clipFraction ?? 0;
          critics.forEach(([s, critic], i) => {
            const opt = criticOpts[i] as AdamW;
            opt.zeroGrad();
            critic.train();
            const values = responseSlice(critic.forward(mb(seq), mb(attn)).scores, L, T);
            const cl = criticLoss(values, mb(scored.values[s]), mb(returns[s]), mbMask, config.valueClip);
            cl.loss.backward();
            clipGradNorm(critic.parameters(), config.criticOptim.gradClip);
            opt.step();
            criticLossSum[s] = (criticLossSum[s] ?? 0) + cl.loss.item();
          });
          updates++;
        });
      }
    }
    // --- logging -------------------------------------------------------------------------------
    const lengths = mask.sum(1).toNumbers();
    const record: RlLogRecord = {
      step: step + 1,
      reward: scored.reward.mean().item(),
      ...(scored.cost ? { cost: scored.cost.mean().item() } : {}),
      kl: kl.sum(1).mean().item(),
      actorLoss: actorLossSum / updates,
      criticLoss: Object.fromEntries(Object.entries(criticLossSum).map(([k, v]) => [k, v / updates])),
      responseLength: lengths.reduce((a, b) => a + b, 0) / lengths.length,
      clipFraction: clipSum / updates,
      ...(extra.lambda !== undefined ? { lambda: extra.lambda } : {}),
      ...(extra.jc !== undefined ? { jc: extra.jc } : {}),
    };
    if (args.judge) {
      const responses = decodeResponses(tokenizer, seq.narrow(1, L, T), mask);
      const gold = args.judge(picked.map((p, i) => ({ prompt: args.prompts[p]?.prompt ?? '', response: responses[i] ?? '', risky: args.prompts[p]?.risky ?? false })));
      record.goldHarmfulRate = gold.harmfulRate;
      record.goldHelpfulness = gold.helpfulness;
    }
    return record;
  }
}

/** Decodes response tokens (B, T) under their mask to text, dropping EOS and padding. */
export function decodeResponses(tokenizer: Tokenizer, tokens: Tensor, mask: Tensor): string[] {
  const ids = tokens.toNumbers();
  const m = mask.toNumbers();
  const [b, t] = tokens.shape as [number, number];
  const out: string[] = [];
  for (let i = 0; i < b; i++) {
    const row: number[] = [];
    for (let j = 0; j < t; j++) {
      const id = ids[i * t + j] as number;
      if ((m[i * t + j] as number) > 0 && id !== tokenizer.eosId) row.push(id);
    }
    out.push(tokenizer.decode(row, { skipSpecialTokens: true }));
  }
  return out;
}
