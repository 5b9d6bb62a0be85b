// Trains a reward model (helpfulness) or a cost model (harm) on preference pairs; the score type picks the loss.
import { join } from 'node:path';
import { silentProgress, type Progress } from '../../core/progress.js';
import type { PreferenceRecord } from '../../data/record.js';
import { costModelLoss, rewardModelLoss, type LossOutput } from '../../losses/index.js';
import type { ScoreModel, SequenceScorer } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { AdamW, clipGradNorm, lrSchedule, manualSeed, noGrad, tensor, tidy, type Tensor } from '../../torch/index.js';
import { Rng } from '../../world/rng.js';
import { chunks, encodePair, padForTraining, type EncodedPair } from '../common/batching.js';
import { countFit, describeTruncation, emptyTruncationStats, fitLength, fitPair, NothingFitsError, type TruncationStats } from '../common/truncation.js';
import { resumeTraining, saveTraining } from '../common/checkpoint.js';
import { startLora } from '../common/lora.js';
import type { ScoreConfig } from './config.js';

/** A pair as the score losses see it: the first response is the "better" (reward) / "safer" (cost) one. */
interface ScorePair {
  first: EncodedPair;
  second: EncodedPair;
  firstIsSafe: boolean;
  secondIsSafe: boolean;
}

export type ScoreKind = 'reward' | 'cost';

/** How each score type reads a record and which loss it trains with. */
const KINDS: Record<ScoreKind, {
  firstIndex: (r: PreferenceRecord) => 0 | 1 | undefined;
  loss: (first: Tensor, second: Tensor, firstSafe: Tensor, secondSafe: Tensor, reg: number) => LossOutput;
}> = {
  reward: {
    firstIndex: (r) => r.betterResponseId,
    loss: (better, worse, _a, _b, reg) => rewardModelLoss(better, worse, reg),
  },
  cost: {
    // the cost model ranks the unsafer response higher: `first` is the safer one
    firstIndex: (r) => r.saferResponseId,
    loss: (safer, unsafer, saferSafe, unsaferSafe, reg) => costModelLoss(safer, unsafer, saferSafe, unsaferSafe, reg),
  },
};

/**
 * The pairs a score type trains on, each response fitted to `maxLength` tokens keeping its end (the
 * end score is read at the last token). A pair whose prompt leaves no room is skipped and counted.
 */
function toPairs(kind: ScoreKind, tokenizer: Tokenizer, records: readonly PreferenceRecord[], maxLength: number): { pairs: ScorePair[]; stats: TruncationStats } {
  const out: ScorePair[] = [];
  const stats = emptyTruncationStats(maxLength);
  records.forEach((r, i) => {
    const first = KINDS[kind].firstIndex(r);
    if (first === undefined) return;
    if (kind === 'cost' && !r.isSafe) return;
    const second = (1 - first) as 0 | 1;
    const a = fitPair(encodePair(tokenizer, r.prompt, r.responses[first]), maxLength, 'response-end');
    const b = fitPair(encodePair(tokenizer, r.prompt, r.responses[second]), maxLength, 'response-end');
    const where = r.source?.file !== undefined && r.source.line !== undefined ? `${r.source.file}:${r.source.line}` : `#${i}`;
    countFit(stats, a === null || b === null ? 'skipped' : a.truncated || b.truncated ? 'truncated' : 'kept', where);
    if (a === null || b === null) return;
    out.push({ first: a.pair, second: b.pair, firstIsSafe: r.isSafe?.[first] ?? true, secondIsSafe: r.isSafe?.[second] ?? true });
  });
  return { pairs: out, stats };
}

/** The log line for a score model's fitted pairs. */
export function describeScoreTruncation(stats: TruncationStats): string {
  return describeTruncation(stats, 'pairs', 'response-end');
}

/** End scores of both responses of each pair in one forward pass: (B,), (B,). */
function pairScores(model: SequenceScorer, pairs: readonly ScorePair[], padId: number, maxLength: number): { first: Tensor; second: Tensor } {
  const b = padForTraining([...pairs.map((p) => p.first), ...pairs.map((p) => p.second)], padId, maxLength);
  const { endScores } = model.forward(tensor(b.ids, { dtype: 'int64' }), tensor(b.attentionMask, { dtype: 'int64' }));
  const n = pairs.length;
  return { first: endScores.narrow(0, 0, n), second: endScores.narrow(0, n, n) };
}

export interface ScoreEval {
  /** Pairwise accuracy against the labels given. */
  accuracy: number;
  /** Cost models: share of responses whose score sign matches the safety label. */
  signAccuracy?: number;
  safeMean: number;
  unsafeMean: number;
  safeStd: number;
  unsafeStd: number;
  /** Pairs scored. */
  n: number;
  /** What fitting to min(maxLength, model context) did (response end kept; pairs that cannot fit are skipped). Absent in results saved before it existed. */
  truncation?: TruncationStats;
}

/** Pairwise (and, for costs, sign) accuracy of `model` on `records`. */
export function evaluateScoreModel(
  kind: ScoreKind,
  model: SequenceScorer,
  tokenizer: Tokenizer,
  records: readonly PreferenceRecord[],
  opts: { batchSize?: number; maxLength?: number } = {},
): ScoreEval {
  const maxLength = fitLength(opts.maxLength ?? model.contextLength ?? 96, model.contextLength);
  const { pairs, stats: truncation } = toPairs(kind, tokenizer, records, maxLength);
  const padId = tokenizer.padId ?? 0;
  let correct = 0;
  let signCorrect = 0;
  const safe: number[] = [];
  const unsafe: number[] = [];
  model.eval();
  noGrad(() => {
    for (const chunk of chunks(pairs, opts.batchSize ?? 64)) {
      tidy(() => {
        const s = pairScores(model, chunk, padId, maxLength);
        const first = s.first.toNumbers();
        const second = s.second.toNumbers();
        chunk.forEach((p, i) => {
          const a = first[i] as number;
          const b = second[i] as number;
          // reward: better > worse; cost: unsafer > safer
          if (kind === 'reward' ? a > b : b > a) correct++;
          if ((a > 0) === !p.firstIsSafe) signCorrect++;
          if ((b > 0) === !p.secondIsSafe) signCorrect++;
          (p.firstIsSafe ? safe : unsafe).push(a);
          (p.secondIsSafe ? safe : unsafe).push(b);
        });
      });
    }
  });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const std = (xs: number[]) => {
    const m = mean(xs);
    return xs.length ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) : NaN;
  };
  return {
    accuracy: pairs.length ? correct / pairs.length : NaN,
    ...(kind === 'cost' ? { signAccuracy: pairs.length ? signCorrect / (2 * pairs.length) : NaN } : {}),
    safeMean: mean(safe),
    unsafeMean: mean(unsafe),
    safeStd: std(safe),
    unsafeStd: std(unsafe),
    n: pairs.length,
    truncation,
  };
}

export interface ScoreLogRecord {
  step: number;
  loss: number;
  accuracy: number;
  signAccuracy?: number;
}

/**
 * Trains a score model on preference records (reward: better vs worse; cost: safer vs unsafer
 * with safety signs). Resumes from `<outDir>/checkpoint` when one exists. With `config.lora` only
 * adapters and the head train; at the end the adapter is saved to `<outDir>/adapter` and merged.
 */
export function trainScoreModel(args: {
  kind: ScoreKind;
  model: ScoreModel;
  tokenizer: Tokenizer;
  train: readonly PreferenceRecord[];
  config: ScoreConfig;
  outDir: string;
  progress?: Progress;
}): { steps: number; log: ScoreLogRecord[]; truncation: TruncationStats } {
  const { kind, model, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const padId = tokenizer.padId ?? 0;
  const maxLength = fitLength(config.maxLength, model.contextLength);
  const { pairs, stats: truncation } = toPairs(kind, tokenizer, args.train, maxLength);
  if (truncation.truncated + truncation.skipped > 0) progress.log(`${kind}: ${describeScoreTruncation(truncation)}`);
  if (pairs.length === 0) {
    throw new NothingFitsError(
      `${kind}: no training pair to train on: ${truncation.total} labelled pairs, ${truncation.skipped} skipped because the prompt leaves no room in ${maxLength} tokens (min of maxLength ${config.maxLength} and the model's context ${model.contextLength})`,
    );
  }
  const stepsPerEpoch = Math.ceil(pairs.length / config.batchSize);
  const totalSteps = Math.max(1, Math.round(stepsPerEpoch * config.epochs));
  const lora = startLora(model, config.lora, config.seed);
  const params = model.trainableParameters();
  const opt = new AdamW(params, { lr: config.optim.lr, weightDecay: config.optim.weightDecay });
  const schedule = lrSchedule({ kind: config.optim.schedule, warmupSteps: Math.round(config.optim.warmupRatio * totalSteps), totalSteps });
  const ckptDir = join(args.outDir, 'checkpoint');
  const resumed = resumeTraining<ScoreLogRecord>(ckptDir, model, opt);
  let step = resumed?.step ?? 0;
  const log: ScoreLogRecord[] = resumed?.log ?? [];
  if (resumed) progress.log(`${kind}: resuming from step ${step}`);
  manualSeed(config.seed + step);
  const rng = new Rng(config.seed);
  const order = (epoch: number) => rng.derive(`epoch-${epoch}`).shuffle([...pairs.keys()]);
  let epochOrder = order(Math.floor(step / stepsPerEpoch));
  progress.start(`${kind} model`, totalSteps);
  progress.update(step);
  while (step < totalSteps) {
    if (step % stepsPerEpoch === 0) epochOrder = order(Math.floor(step / stepsPerEpoch));
    const start = (step % stepsPerEpoch) * config.batchSize;
    const batch = epochOrder.slice(start, start + config.batchSize).map((i) => pairs[i] as ScorePair);
    opt.lr = config.optim.lr * schedule(step);
    model.train();
    const metrics = tidy(() => {
      opt.zeroGrad();
      const s = pairScores(model, batch, padId, maxLength);
      const out = KINDS[kind].loss(
        s.first,
        s.second,
        tensor(batch.map((p) => (p.firstIsSafe ? 1 : 0)), { dtype: 'bool' }),
        tensor(batch.map((p) => (p.secondIsSafe ? 1 : 0)), { dtype: 'bool' }),
        config.regularization,
      );
      out.loss.backward();
      clipGradNorm(params, config.optim.gradClip);
      opt.step();
      return { loss: out.loss.item(), ...out.metrics } as Record<string, number> & { loss: number };
    });
    step++;
    const record: ScoreLogRecord = {
      step,
      loss: metrics.loss,
      accuracy: metrics.accuracy as number,
      ...(metrics.signAccuracy !== undefined ? { signAccuracy: metrics.signAccuracy } : {}),
    };
    log.push(record);
    progress.update(step, { loss: record.loss, acc: record.accuracy });
    if (step % config.checkpointEvery === 0 || step === totalSteps) {
      saveTraining(ckptDir, step, log, model, opt);
    }
  }
  progress.stop();
  lora?.finish(args.outDir);
  return { steps: step, log, truncation };
}
