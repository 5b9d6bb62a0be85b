// Trains a reward model (helpfulness) or a cost model (harm) on preference pairs or safety labels; the score type and the data pick the loss.
import { silentProgress, type Progress } from '../../core/progress.js';
import { costLabelLoss, costModelLoss, ordinalLoss, predictedLevels, rewardModelLoss, type LossOutput } from '../../losses/index.js';
import { LlavaScoreModel, ScoreModel, type PromptOptions, type SequenceScorer } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { noGrad, tidy, type Tensor } from '../../torch/index.js';
import { chunks, epochBatches } from '../common/batching.js';
import { describeTruncation, fitLength, NothingFitsError, type TruncationStats } from '../common/truncation.js';
import { startLora } from '../common/lora.js';
import { imageTokensOf, loraTarget, scoreHeadOf, type ScoringModel } from '../common/model-input.js';
import { startTraining } from '../common/training-run.js';
import type { ScoreConfig } from './config.js';
import { itemScores, needLevels, SeverityDataError, slotIsSafe, slotLevels, toScoreItems, type ScoreData, type ScoreItem, type ScoreKind } from './items.js';

export type { ScoreData, ScoreKind } from './items.js';

/** The loss of each kind on a batch of pairs (slot 0 better / safer), and, for a cost model, on single labelled responses. */
const LOSSES: Record<ScoreKind, {
  pairs: (first: Tensor, second: Tensor, firstSafe: Tensor, secondSafe: Tensor, reg: number) => LossOutput;
  labels?: (scores: Tensor, isSafe: Tensor, reg: number) => LossOutput;
}> = {
  reward: { pairs: (better, worse, _a, _b, reg) => rewardModelLoss(better, worse, reg) },
  // the cost model ranks the unsafer response higher: slot 0 is the safer one
  cost: { pairs: (safer, unsafer, saferSafe, unsaferSafe, reg) => costModelLoss(safer, unsafer, saferSafe, unsaferSafe, reg), labels: costLabelLoss },
};

/** The loss of a batch of `items` (all pairs or all labels) under `kind`; a model with an ordinal head trains its levels. */
function batchLoss(kind: ScoreKind, model: ScoringModel, items: readonly ScoreItem[], padId: number, maxLength: number, reg: number): LossOutput {
  const s = itemScores(model, items, padId, maxLength);
  const device = (s[0] as Tensor).device;
  const head = scoreHeadOf(model);
  if (head.ordinalLevels > 0) return ordinalLoss(s[0] as Tensor, head.cutpoints(), slotLevels(items, 0, device), reg);
  const labels = LOSSES[kind].labels;
  if (s.length === 1 && labels) return labels(s[0] as Tensor, slotIsSafe(items, 0, device), reg);
  return LOSSES[kind].pairs(s[0] as Tensor, s[1] as Tensor, slotIsSafe(items, 0, device), slotIsSafe(items, 1, device), reg);
}

/** The log line for a score model's fitted pairs (or labelled responses). */
export function describeScoreTruncation(stats: TruncationStats, what = 'pairs'): string {
  return describeTruncation(stats, what, 'response-end');
}

export interface ScoreEval {
  /** Pairwise accuracy against the labels given (on labelled single responses: the sign accuracy). */
  accuracy: number;
  /** Cost models: share of responses whose score sign matches the safety label. */
  signAccuracy?: number;
  safeMean: number;
  unsafeMean: number;
  safeStd: number;
  unsafeStd: number;
  /** Pairs (or labelled responses) scored. */
  n: number;
  /** What fitting to min(maxLength, model context) did (response end kept; pairs that cannot fit are skipped). Absent in results saved before it existed. */
  truncation?: TruncationStats;
  /** A model with an ordinal head on responses with severity levels: how well it predicts them. */
  severity?: SeverityEval;
}

/** A severity classifier on labelled responses: the predicted (median) level against the label. */
export interface SeverityEval {
  /** Share of responses whose predicted level is the label. */
  accuracy: number;
  /** Mean |predicted − labelled| level. */
  meanAbsError: number;
  /** confusion[label][predicted]: counts. */
  confusion: number[][];
  /** Per labelled level: share predicted exactly (recall). */
  recall: number[];
}

/** Adds one batch of end scores to a severity confusion matrix (predicted level vs label). */
function addConfusion(confusion: number[][], model: ScoreModel, endScores: Tensor, levels: readonly number[]): void {
  const predicted = predictedLevels(endScores, model.cutpoints()).toNumbers();
  levels.forEach((l, i) => {
    const row = confusion[l] as number[];
    row[predicted[i] as number] = (row[predicted[i] as number] ?? 0) + 1;
  });
}

function severitySummary(confusion: number[][]): SeverityEval {
  let n = 0;
  let right = 0;
  let abs = 0;
  confusion.forEach((row, l) =>
    row.forEach((c, p) => {
      n += c;
      if (l === p) right += c;
      abs += c * Math.abs(l - p);
    }),
  );
  const recall = confusion.map((row, l) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total ? (row[l] as number) / total : NaN;
  });
  return { accuracy: n ? right / n : NaN, meanAbsError: n ? abs / n : NaN, confusion, recall };
}

/** Pairwise (and, for costs, sign) accuracy of `model` on `data` (pairs, or labelled responses: sign accuracy only). */
export function evaluateScoreModel(
  kind: ScoreKind,
  model: SequenceScorer,
  tokenizer: Tokenizer,
  data: ScoreData,
  opts: { batchSize?: number; maxLength?: number; prompt?: PromptOptions } = {},
): ScoreEval {
  const maxLength = fitLength(opts.maxLength ?? model.contextLength ?? 96, model.contextLength);
  const image = imageTokensOf(model, tokenizer);
  const { items, stats: truncation } = toScoreItems(kind, tokenizer, data, maxLength, image ? { ...opts.prompt, image } : opts.prompt);
  let responses = 0;
  const padId = tokenizer.padId ?? 0;
  let correct = 0;
  let signCorrect = 0;
  const safe: number[] = [];
  const unsafe: number[] = [];
  // a severity classifier on responses with severity levels: a confusion matrix of its predicted level
  const head = model instanceof ScoreModel || model instanceof LlavaScoreModel ? scoreHeadOf(model) : undefined;
  const ordinal = head && head.ordinalLevels > 0 && items.length > 0 && items.every((it) => it.seqs.length === 1 && it.levels !== undefined) ? head : undefined;
  if (ordinal) needLevels(items, ordinal.ordinalLevels);
  const confusion = ordinal ? Array.from({ length: ordinal.ordinalLevels }, () => new Array<number>(ordinal.ordinalLevels).fill(0)) : undefined;
  model.eval();
  noGrad(() => {
    for (const chunk of chunks(items, opts.batchSize ?? 64)) {
      tidy(() => {
        const tensors = itemScores(model, chunk, padId, maxLength);
        if (ordinal && confusion) addConfusion(confusion, ordinal, tensors[0] as Tensor, chunk.map((it) => it.levels?.[0] as number));
        const slots = tensors.map((t) => t.toNumbers());
        chunk.forEach((item, i) => {
          const scores = slots.map((s) => s[i] as number);
          scores.forEach((score, slot) => {
            const isSafe = item.isSafe[slot] as boolean;
            if ((score > 0) === !isSafe) signCorrect++;
            (isSafe ? safe : unsafe).push(score);
          });
          responses += scores.length;
          const [a, b] = scores as [number, number | undefined];
          // reward: better > worse; cost: unsafer > safer
          if (b !== undefined && (kind === 'reward' ? a > b : b > a)) correct++;
        });
      });
    }
  });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const std = (xs: number[]) => {
    const m = mean(xs);
    return xs.length ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) : NaN;
  };
  const signAccuracy = responses ? signCorrect / responses : NaN;
  return {
    accuracy: !Array.isArray(data) ? signAccuracy : items.length ? correct / items.length : NaN,
    ...(kind === 'cost' ? { signAccuracy } : {}),
    safeMean: mean(safe),
    unsafeMean: mean(unsafe),
    safeStd: std(safe),
    unsafeStd: std(unsafe),
    n: items.length,
    truncation,
    ...(confusion ? { severity: severitySummary(confusion) } : {}),
  };
}

export interface ScoreLogRecord {
  step: number;
  loss: number;
  accuracy: number;
  signAccuracy?: number;
  /** Severity models: mean |predicted level − label|. */
  meanAbsError?: number;
}

/**
 * Trains a score model on preference records (reward: better vs worse; cost: safer vs unsafer
 * with safety signs) or, for a cost model, on `{ labels }` (the sign term alone; with an ordinal
 * head, the cumulative-logit loss on their severity levels).
 * Resumes from `<outDir>/checkpoint` when one exists. With `config.lora` only
 * adapters and the head train; at the end the adapter is saved to `<outDir>/adapter` and merged.
 */
export function trainScoreModel(args: {
  kind: ScoreKind;
  /** A text score model, or an image + text one (LlavaScoreModel) for records with pixels. */
  model: ScoringModel;
  tokenizer: Tokenizer;
  train: ScoreData;
  config: ScoreConfig;
  outDir: string;
  progress?: Progress;
  /** How prompts become text (default: the tokenizer's chat template). */
  prompt?: PromptOptions;
}): { steps: number; log: ScoreLogRecord[]; truncation: TruncationStats } {
  const { kind, model, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const padId = tokenizer.padId ?? 0;
  const maxLength = fitLength(config.maxLength, model.contextLength);
  const image = imageTokensOf(model, tokenizer);
  const { items, stats: truncation } = toScoreItems(kind, tokenizer, args.train, maxLength, image ? { ...args.prompt, image } : args.prompt);
  const head = scoreHeadOf(model);
  const what = Array.isArray(args.train) ? 'pairs' : 'responses';
  if (truncation.truncated + truncation.skipped > 0) progress.log(`${kind}: ${describeScoreTruncation(truncation, what)}`);
  if (head.ordinalLevels > 0) {
    if (Array.isArray(args.train)) throw new SeverityDataError('a severity (ordinal) model trains on responses labelled with severity levels, not on pairs: give { labels } with severity (CLI: --cost-data severity)');
    needLevels(items, head.ordinalLevels);
  }
  if (items.length === 0) {
    throw new NothingFitsError(
      `${kind}: nothing to train on: ${truncation.total} labelled ${what}, ${truncation.skipped} skipped because the prompt leaves no room in ${maxLength} tokens (min of maxLength ${config.maxLength} and the model's context ${model.contextLength})`,
    );
  }
  const { totalSteps, batchAt } = epochBatches(items.length, config.batchSize, config.epochs, config.seed);
  const lora = startLora(loraTarget(model), config.lora, config.seed);
  const run = startTraining<ScoreLogRecord>({ label: `${kind} model`, model, optim: config.optim, totalSteps, seed: config.seed, outDir: args.outDir, checkpointEvery: config.checkpointEvery, progress });
  const log = run.log;
  let step = run.startStep;
  while (step < totalSteps) {
    const batch = batchAt(step).map((i) => items[i] as ScoreItem);
    const metrics = run.optimize(step, batch, (share) => batchLoss(kind, model, share, padId, maxLength, config.regularization));
    step++;
    const record: ScoreLogRecord = {
      step,
      loss: metrics.loss,
      accuracy: metrics.accuracy as number,
      ...(metrics.signAccuracy !== undefined ? { signAccuracy: metrics.signAccuracy } : {}),
      ...(metrics.meanAbsError !== undefined ? { meanAbsError: metrics.meanAbsError } : {}),
    };
    log.push(record);
    progress.update(step, { loss: record.loss, acc: record.accuracy });
    run.checkpoint(step);
  }
  progress.stop();
  lora?.finish(args.outDir);
  return { steps: step, log, truncation };
}
