// Trains a reward model (helpfulness) or a cost model (harm) on preference pairs or safety labels; the score type and the data pick the loss.
import { silentProgress, type Progress } from '../../core/progress.js';
import { costLabelLoss, costModelLoss, rewardModelLoss, type LossOutput } from '../../losses/index.js';
import type { PromptOptions, ScoreModel, SequenceScorer } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { noGrad, tidy, type Tensor } from '../../torch/index.js';
import { chunks, epochBatches } from '../common/batching.js';
import { describeTruncation, fitLength, NothingFitsError, type TruncationStats } from '../common/truncation.js';
import { startLora } from '../common/lora.js';
import { startTraining } from '../common/training-run.js';
import type { ScoreConfig } from './config.js';
import { itemScores, slotIsSafe, toScoreItems, type ScoreData, type ScoreItem, type ScoreKind } from './items.js';

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

/** The loss of a batch of `items` (all pairs or all labels) under `kind`. */
function batchLoss(kind: ScoreKind, model: SequenceScorer, items: readonly ScoreItem[], padId: number, maxLength: number, reg: number): LossOutput {
  const s = itemScores(model, items, padId, maxLength);
  const labels = LOSSES[kind].labels;
  if (s.length === 1 && labels) return labels(s[0] as Tensor, slotIsSafe(items, 0), reg);
  return LOSSES[kind].pairs(s[0] as Tensor, s[1] as Tensor, slotIsSafe(items, 0), slotIsSafe(items, 1), reg);
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
  const { items, stats: truncation } = toScoreItems(kind, tokenizer, data, maxLength, opts.prompt);
  let responses = 0;
  const padId = tokenizer.padId ?? 0;
  let correct = 0;
  let signCorrect = 0;
  const safe: number[] = [];
  const unsafe: number[] = [];
  model.eval();
  noGrad(() => {
    for (const chunk of chunks(items, opts.batchSize ?? 64)) {
      tidy(() => {
        const slots = itemScores(model, chunk, padId, maxLength).map((t) => t.toNumbers());
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
 * with safety signs) or, for a cost model, on `{ labels }` (the sign term alone).
 * Resumes from `<outDir>/checkpoint` when one exists. With `config.lora` only
 * adapters and the head train; at the end the adapter is saved to `<outDir>/adapter` and merged.
 */
export function trainScoreModel(args: {
  kind: ScoreKind;
  model: ScoreModel;
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
  const { items, stats: truncation } = toScoreItems(kind, tokenizer, args.train, maxLength, args.prompt);
  const what = Array.isArray(args.train) ? 'pairs' : 'responses';
  if (truncation.truncated + truncation.skipped > 0) progress.log(`${kind}: ${describeScoreTruncation(truncation, what)}`);
  if (items.length === 0) {
    throw new NothingFitsError(
      `${kind}: nothing to train on: ${truncation.total} labelled ${what}, ${truncation.skipped} skipped because the prompt leaves no room in ${maxLength} tokens (min of maxLength ${config.maxLength} and the model's context ${model.contextLength})`,
    );
  }
  const { totalSteps, batchAt } = epochBatches(items.length, config.batchSize, config.epochs, config.seed);
  const lora = startLora(model, config.lora, config.seed);
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
    };
    log.push(record);
    progress.update(step, { loss: record.loss, acc: record.accuracy });
    run.checkpoint(step);
  }
  progress.stop();
  lora?.finish(args.outDir);
  return { steps: step, log, truncation };
}
