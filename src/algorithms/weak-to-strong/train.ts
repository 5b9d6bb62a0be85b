// Weak-to-strong: a weak reward model's labels of pairs, and a (strong) student trained on them with Burns et al.'s auxiliary confidence loss.
import { silentProgress, type Progress } from '../../core/progress.js';
import type { PreferenceRecord } from '../../data/record.js';
import { confidenceLoss, confidenceWeight } from '../../losses/index.js';
import type { PromptOptions, ScoreModel, SequenceScorer } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { noGrad, tensor, tidy } from '../../torch/index.js';
import { chunks, epochBatches } from '../common/batching.js';
import { fitLength, NothingFitsError, type TruncationStats } from '../common/truncation.js';
import { startTraining } from '../common/training-run.js';
import { itemScores, toScoreItems, type ScoreItem } from '../score/items.js';
import { describeScoreTruncation } from '../score/train.js';
import type { WeakLabelTraining } from './config.js';

/** The pairs in response order (slot 0 = response 0), whatever their labels say: weak labels are P(response 0 better). */
function inResponseOrder(tokenizer: Tokenizer, pairs: readonly PreferenceRecord[], maxLength: number, prompt?: PromptOptions): { items: ScoreItem[]; stats: TruncationStats } {
  return toScoreItems('reward', tokenizer, pairs.map((p) => ({ ...p, betterResponseId: 0 as const })), maxLength, prompt);
}

/** A scorer's P(response 0 better) = σ(r_0 − r_1) for each pair; NaN where the pair cannot fit. */
export function weakLabels(scorer: SequenceScorer, tokenizer: Tokenizer, pairs: readonly PreferenceRecord[], opts: { maxLength?: number; prompt?: PromptOptions } = {}): number[] {
  const maxLength = fitLength(opts.maxLength ?? scorer.contextLength ?? 96, scorer.contextLength);
  const { items } = inResponseOrder(tokenizer, pairs, maxLength, opts.prompt);
  const out = new Array<number>(pairs.length).fill(NaN);
  scorer.eval();
  noGrad(() => {
    for (const chunk of chunks(items, 64)) {
      tidy(() => {
        const [r0, r1] = itemScores(scorer, chunk, tokenizer.padId ?? 0, maxLength);
        const p = (r0 as NonNullable<typeof r0>).sub(r1 as NonNullable<typeof r1>).sigmoid().toNumbers();
        chunk.forEach((it, i) => (out[it.at] = p[i] as number));
      });
    }
  });
  return out;
}

export interface WeakLabelLogRecord {
  step: number;
  loss: number;
  /** Share of the batch where the student prefers the response the weak label prefers. */
  weakAgreement: number;
  alpha: number;
}

/**
 * Trains `model` on `pairs` with `labels[i]` = P(response 0 better) from a weak supervisor: the auxiliary
 * confidence loss with α warmed up to `config.auxCoef` (α = 0: cross-entropy on the weak labels alone).
 * Pairs with a NaN label are left out. Resumes from `<outDir>/checkpoint`.
 */
export function trainOnWeakLabels(args: {
  model: ScoreModel;
  tokenizer: Tokenizer;
  pairs: readonly PreferenceRecord[];
  labels: readonly number[];
  config: WeakLabelTraining;
  outDir: string;
  progress?: Progress;
  prompt?: PromptOptions;
}): { steps: number; log: WeakLabelLogRecord[]; truncation: TruncationStats } {
  const { model, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const maxLength = fitLength(config.score.maxLength, model.contextLength);
  const fitted = inResponseOrder(tokenizer, args.pairs, maxLength, args.prompt);
  const items = fitted.items.filter((it) => !Number.isNaN(args.labels[it.at]));
  if (fitted.stats.truncated + fitted.stats.skipped > 0) progress.log(`weak-to-strong: ${describeScoreTruncation(fitted.stats)}`);
  if (items.length === 0) throw new NothingFitsError(`weak-to-strong: nothing to train on: ${fitted.stats.total} pairs, ${fitted.stats.skipped} skipped (no room in ${maxLength} tokens), the rest without a weak label`);
  const label = (it: ScoreItem) => {
    const p = args.labels[it.at] as number;
    return config.labels === 'hard' ? (p > 0.5 ? 1 : 0) : p;
  };
  const s = config.score;
  const { totalSteps, batchAt } = epochBatches(items.length, s.batchSize, s.epochs, s.seed);
  const run = startTraining<WeakLabelLogRecord>({ label: `strong on weak labels (α ${config.auxCoef})`, model, optim: s.optim, totalSteps, seed: s.seed, outDir: args.outDir, checkpointEvery: s.checkpointEvery, progress });
  let step = run.startStep;
  while (step < totalSteps) {
    const batch = batchAt(step).map((i) => items[i] as ScoreItem);
    const alpha = confidenceWeight(step / totalSteps, config.auxCoef, config.warmupFrac);
    const m = run.optimize(step, batch, (share) => {
      const [r0, r1] = itemScores(model, share, tokenizer.padId ?? 0, maxLength);
      const margins = (r0 as NonNullable<typeof r0>).sub(r1 as NonNullable<typeof r1>);
      return confidenceLoss(margins, tensor(share.map(label), { device: margins.device }), alpha);
    });
    step++;
    run.log.push({ step, loss: m.loss, weakAgreement: m.weakAgreement as number, alpha });
    progress.update(step, { loss: m.loss, alpha });
    run.checkpoint(step);
  }
  progress.stop();
  return { steps: step, log: run.log, truncation: fitted.stats };
}

/** Performance gap recovered: (student − weak) / (ceiling − weak); NaN when the ceiling does not beat the weak model. */
export function performanceGapRecovered(weak: number, student: number, ceiling: number): number {
  return ceiling > weak ? (student - weak) / (ceiling - weak) : NaN;
}
