// Trains MiCRo (Shen et al. 2025): stage 1 fits K heads and a prompt router by the mixture likelihood on per-annotator labels; stage 2 routes each annotator by Hedge.
import { silentProgress, type Progress } from '../../core/progress.js';
import type { PreferenceRecord } from '../../data/record.js';
import { groupedMixtureBtLoss, headLogLosses, hedgeLogWeights, mixtureBtLoss, type LossOutput } from '../../losses/index.js';
import type { PromptOptions } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { cat, noGrad, tensor, tidy, type Tensor } from '../../torch/index.js';
import { chunks, epochBatches, padForTraining, type EncodedPair } from '../common/batching.js';
import { Rng } from '../../world/rng.js';
import { fitLength, NothingFitsError, type TruncationStats } from '../common/truncation.js';
import { startTraining } from '../common/training-run.js';
import { describeScoreTruncation } from '../score/train.js';
import { toScoreItems, type ScoreItem } from '../score/items.js';
import type { MicroConfig } from './config.js';
import type { MixtureScoreModel } from './model.js';

/** A preference record labelled by one annotator (`betterResponseId` is that person's choice). */
export type AnnotatedPair = PreferenceRecord & { annotator: string };

/** Stage 2's state: per annotator, each head's summed log-loss on its routing pairs (K,), and how many pairs. */
export type Routing = Record<string, { headLoss: number[]; pairs: number }>;

export interface MicroLogRecord {
  step: number;
  loss: number;
  accuracy: number;
}

/** Stage 1's loss of a batch under each likelihood (`annotator` batches hold one annotator's labels). */
const LIKELIHOODS: Record<MicroConfig['likelihood'], (better: Tensor, worse: Tensor, router: Tensor, reg: number) => LossOutput> = {
  pair: mixtureBtLoss,
  annotator: groupedMixtureBtLoss,
};

/**
 * Batches of one annotator's labels: each epoch shuffles every annotator's items (by the seed alone, so a
 * resumed run sees the same batches), cuts them into batches of `batchSize` and shuffles the batches.
 */
export function annotatorBatches(annotators: readonly string[], batchSize: number, epochs: number, seed: number): { totalSteps: number; batchAt(step: number): number[] } {
  const groups = new Map<string, number[]>();
  annotators.forEach((a, i) => groups.set(a, [...(groups.get(a) ?? []), i]));
  const perEpoch = (epoch: number): number[][] => {
    const rng = new Rng(seed).derive(`epoch-${epoch}`);
    const batches = [...groups.values()].flatMap((idx) => chunks(rng.shuffle([...idx]), batchSize));
    return rng.shuffle(batches);
  };
  const stepsPerEpoch = perEpoch(0).length;
  let cached: { epoch: number; batches: number[][] } | null = null;
  return {
    totalSteps: Math.max(1, Math.round(stepsPerEpoch * epochs)),
    batchAt(step) {
      const epoch = Math.floor(step / stepsPerEpoch);
      if (cached?.epoch !== epoch) cached = { epoch, batches: perEpoch(epoch) };
      return cached.batches[step % stepsPerEpoch] ?? [];
    },
  };
}

/** The heads' scores of the better and the other response and the router's logits, each (B, K), in one forward pass. */
function pairScores(model: MixtureScoreModel, items: readonly ScoreItem[], padId: number, maxLength: number): { better: Tensor; worse: Tensor; router: Tensor } {
  const seqs = [0, 1].flatMap((s) => items.map((it) => it.seqs[s] as EncodedPair));
  const b = padForTraining(seqs, padId, maxLength);
  const device = model.device;
  const promptLast = tensor(seqs.map((p) => p.promptIds.length - 1), { dtype: 'int64', device });
  const out = model.forward(tensor(b.ids, { dtype: 'int64', device }), tensor(b.attentionMask, { dtype: 'int64', device }), promptLast);
  const n = items.length;
  return { better: out.endScores.narrow(0, 0, n), worse: out.endScores.narrow(0, n, n), router: out.routerLogits.narrow(0, 0, n) };
}

function fitItems(model: MixtureScoreModel, tokenizer: Tokenizer, pairs: readonly PreferenceRecord[], maxLength: number, prompt?: PromptOptions): { items: ScoreItem[]; stats: TruncationStats; maxLength: number } {
  const budget = fitLength(maxLength, model.contextLength);
  return { ...toScoreItems('reward', tokenizer, pairs, budget, prompt), maxLength: budget };
}

/**
 * Stage 1: the mixture likelihood on `train` (one record per annotator label; with likelihood 'pair' the
 * annotator ids are not read, with 'annotator' they only group the batches), resumable from `<outDir>/checkpoint`. Stage 2: each annotator's routing state from its
 * first `config.routing.pairs` records. With `config.heads` = 1 this trains a single Bradley–Terry model.
 */
export function trainMicro(args: {
  model: MixtureScoreModel;
  tokenizer: Tokenizer;
  train: readonly AnnotatedPair[];
  config: MicroConfig;
  outDir: string;
  progress?: Progress;
  prompt?: PromptOptions;
}): { steps: number; log: MicroLogRecord[]; truncation: TruncationStats; routing: Routing } {
  const { model, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const padId = tokenizer.padId ?? 0;
  const { items, stats, maxLength } = fitItems(model, tokenizer, args.train, config.maxLength, args.prompt);
  if (stats.truncated + stats.skipped > 0) progress.log(`micro: ${describeScoreTruncation(stats)}`);
  if (items.length === 0) throw new NothingFitsError(`micro: nothing to train on: ${stats.total} labelled pairs, ${stats.skipped} skipped because the prompt leaves no room in ${maxLength} tokens`);
  const { totalSteps, batchAt } =
    config.likelihood === 'annotator'
      ? annotatorBatches(items.map((it) => (args.train[it.at] as AnnotatedPair).annotator), config.batchSize, config.epochs, config.seed)
      : epochBatches(items.length, config.batchSize, config.epochs, config.seed);
  const run = startTraining<MicroLogRecord>({ label: `micro (${config.heads} heads)`, model, optim: config.optim, totalSteps, seed: config.seed, outDir: args.outDir, checkpointEvery: config.checkpointEvery, progress });
  let step = run.startStep;
  while (step < totalSteps) {
    const batch = batchAt(step).map((i) => items[i] as ScoreItem);
    const m = run.optimize(step, batch, (share) => {
      const s = pairScores(model, share, padId, maxLength);
      return LIKELIHOODS[config.likelihood](s.better, s.worse, s.router, config.regularization);
    });
    step++;
    run.log.push({ step, loss: m.loss, accuracy: m.accuracy as number });
    progress.update(step, { loss: m.loss, acc: m.accuracy as number });
    run.checkpoint(step);
  }
  progress.stop();
  return { steps: step, log: run.log, truncation: stats, routing: routeAnnotators(model, tokenizer, args.train, config, args.prompt) };
}

/** Stage 2: per annotator, the heads' summed log-losses on its first `routing.pairs` labelled pairs (in data order). */
export function routeAnnotators(model: MixtureScoreModel, tokenizer: Tokenizer, pairs: readonly AnnotatedPair[], config: MicroConfig, prompt?: PromptOptions): Routing {
  const byAnnotator = new Map<string, AnnotatedPair[]>();
  for (const p of pairs) {
    const list = byAnnotator.get(p.annotator) ?? [];
    if (list.length < config.routing.pairs) byAnnotator.set(p.annotator, [...list, p]);
  }
  const padId = tokenizer.padId ?? 0;
  const routing: Routing = {};
  model.eval();
  noGrad(() => {
    for (const [annotator, list] of byAnnotator) {
      const { items, maxLength } = fitItems(model, tokenizer, list, config.maxLength, prompt);
      const headLoss = new Array<number>(model.heads).fill(0);
      for (const chunk of chunks(items, 64)) {
        tidy(() => {
          const s = pairScores(model, chunk, padId, maxLength);
          headLogLosses(s.better, s.worse).sum(0).toNumbers().forEach((v, k) => (headLoss[k] = (headLoss[k] as number) + v));
        });
      }
      routing[annotator] = { headLoss, pairs: items.length };
    }
  });
  return routing;
}

/**
 * The mixture's probability that each record's labelled better response is preferred, with the weights of
 * the record's annotator: the router's prior at its prompt, updated by Hedge with the annotator's routing
 * state (an annotator without one, or `annotator` undefined, gets the router's weights alone).
 * Records that cannot fit are NaN.
 */
export function preferenceProbabilities(
  model: MixtureScoreModel,
  tokenizer: Tokenizer,
  pairs: readonly (PreferenceRecord & { annotator?: string })[],
  routing: Routing,
  config: Pick<MicroConfig, 'maxLength' | 'routing'>,
  prompt?: PromptOptions,
): number[] {
  const { items, maxLength } = fitItems(model, tokenizer, pairs, config.maxLength, prompt);
  const padId = tokenizer.padId ?? 0;
  const out = new Array<number>(pairs.length).fill(NaN);
  model.eval();
  noGrad(() => {
    for (const chunk of chunks(items, 64)) {
      tidy(() => {
        const s = pairScores(model, chunk, padId, maxLength);
        const logPrior = s.router.logSoftmax(1);
        const rows = chunk.map((it, i) => {
          const state = routing[pairs[it.at]?.annotator ?? ''];
          const row = logPrior.narrow(0, i, 1);
          return state ? hedgeLogWeights(row, tensor(state.headLoss, { device: row.device }), config.routing.eta) : row;
        });
        const logW = cat(rows, 0);
        const probs = logW.exp().mul(s.better.sub(s.worse).sigmoid()).sum(1).toNumbers();
        chunk.forEach((it, i) => (out[it.at] = probs[i] as number));
      });
    }
  });
  return out;
}
