// Offline preference training (DPO and its variants, SafeDPO): reference log-probs computed once, then the preference loss on the policy, with resumable checkpoints.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../core/fs-atomic.js';
import { silentProgress, type Progress } from '../../core/progress.js';
import type { PreferenceRecord } from '../../data/record.js';
import { dataParallel } from '../../distributed/data-parallel.js';
import { preferenceLoss, safeDpoOffset, type PairLogProbs } from '../../losses/index.js';
import { sequenceLogProbs, type CausalLM } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { noGrad, tensor, tidy, zeros, type Tensor } from '../../torch/index.js';
import { chunks, encodePair, epochBatches, padForTraining, type EncodedPair } from '../common/batching.js';
import { countFit, describeTruncation, emptyTruncationStats, fitLength, fitPair, NothingFitsError, type TruncationStats } from '../common/truncation.js';
import { startTraining } from '../common/training-run.js';
import type { DpoConfig, PreferenceTrainConfig, SafeDpoConfig } from './config.js';
import { helpfulnessPairs, safeDpoPairs, type PreferencePair } from './pairs.js';

/** A fitted pair with its offset (SafeDPO's (u_l − u_w)·Δ, else 0). */
interface EncodedPreference {
  chosen: EncodedPair;
  rejected: EncodedPair;
  offset: number;
  /** The pair's soft label, when it has one. */
  labelSmoothing: number | undefined;
}

export interface PreferenceLogRecord {
  step: number;
  loss: number;
  lr: number;
  /** Mean implicit reward β·h_w of the chosen responses. */
  chosenReward: number;
  /** Mean implicit reward β·h_l of the rejected responses. */
  rejectedReward: number;
  /** Mean of β·(h_w − h_l). */
  margin: number;
  /** Share of pairs with h_w > h_l. */
  accuracy: number;
}

/** Loss and implicit-reward metrics of a policy on held-out pairs. */
export interface PreferenceEval {
  loss: number;
  chosenReward: number;
  rejectedReward: number;
  margin: number;
  accuracy: number;
  n: number;
}

export interface PreferenceResult {
  steps: number;
  log: PreferenceLogRecord[];
  /** Pairs fitted to min(maxLength, model context), response start kept; pairs whose prompt leaves no room are skipped. */
  truncation: TruncationStats;
  /** On the test pairs, when given. */
  test?: PreferenceEval;
}

/** Encodes and fits both responses of each pair; a pair is skipped when either cannot fit. */
function fitPreferences(tokenizer: Tokenizer, pairs: readonly PreferencePair[], maxLength: number, delta: number): { pairs: EncodedPreference[]; stats: TruncationStats } {
  const stats = emptyTruncationStats(maxLength);
  const out: EncodedPreference[] = [];
  // read back at once: made on the host
  const offsets = safeDpoOffset(pairs.map((p) => ({ chosenUnsafe: p.chosenUnsafe ?? false, rejectedUnsafe: p.rejectedUnsafe ?? false })), delta, 'cpu');
  const offsetValues = pairs.length ? offsets.toNumbers() : [];
  offsets.dispose();
  pairs.forEach((p, i) => {
    const a = fitPair(encodePair(tokenizer, p, p.chosen), maxLength, 'response-start');
    const b = fitPair(encodePair(tokenizer, p, p.rejected), maxLength, 'response-start');
    countFit(stats, a === null || b === null ? 'skipped' : a.truncated || b.truncated ? 'truncated' : 'kept', p.source);
    if (a && b) out.push({ chosen: a.pair, rejected: b.pair, offset: offsetValues[i] as number, labelSmoothing: p.labelSmoothing });
  });
  return { pairs: out, stats };
}

/** The loss of a batch: per-pair offsets, and per-pair soft labels when the pairs carry them (else the config's ε). */
function batchLoss(lp: PairLogProbs, batch: readonly EncodedPreference[], config: PreferenceTrainConfig) {
  const on = { device: lp.policyChosen.device };
  const soft = batch.some((p) => p.labelSmoothing !== undefined) ? tensor(batch.map((p) => p.labelSmoothing ?? config.labelSmoothing), on) : undefined;
  return preferenceLoss(lp, config, tensor(batch.map((p) => p.offset), on), soft);
}

/** Summed response-token log-probs (B,) of the chosen and the rejected responses, in one forward pass of 2B sequences. */
function pairLogProbs(model: CausalLM, batch: readonly EncodedPreference[], padId: number, maxLength: number): { chosen: Tensor; rejected: Tensor } {
  const b = padForTraining([...batch.map((p) => p.chosen), ...batch.map((p) => p.rejected)], padId, maxLength);
  const device = model.device;
  const ids = tensor(b.ids, { dtype: 'int64', device });
  const len = ids.shape[1] as number;
  const mask = tensor(b.responseMask, { device }).narrow(1, 1, len - 1);
  const sums = sequenceLogProbs(model, ids, tensor(b.attentionMask, { dtype: 'int64', device })).mul(mask).sum(1);
  const n = batch.length;
  return { chosen: sums.narrow(0, 0, n), rejected: sums.narrow(0, n, n) };
}

/** The loss inputs of a batch: policy log-probs (differentiable when grad is on), cached reference log-probs, lengths. */
function batchInputs(policy: CausalLM, batch: readonly EncodedPreference[], ref: readonly (readonly [number, number])[], padId: number, maxLength: number): PairLogProbs {
  const p = pairLogProbs(policy, batch, padId, maxLength);
  const responseLength = (e: EncodedPair) => Math.min(e.responseIds.length, maxLength - e.promptIds.length);
  const on = { device: p.chosen.device };
  return {
    policyChosen: p.chosen,
    policyRejected: p.rejected,
    refChosen: tensor(ref.map((r) => r[0]), on),
    refRejected: tensor(ref.map((r) => r[1]), on),
    chosenLengths: tensor(batch.map((e) => responseLength(e.chosen)), on),
    rejectedLengths: tensor(batch.map((e) => responseLength(e.rejected)), on),
  };
}

/** Reference log-probs [chosen, rejected] of every pair (no gradient), in batches. */
function referenceLogProbs(reference: CausalLM, pairs: readonly EncodedPreference[], padId: number, maxLength: number, batchSize: number): [number, number][] {
  reference.eval();
  const out: [number, number][] = [];
  noGrad(() => {
    for (const chunk of chunks(pairs, batchSize)) {
      tidy(() => {
        const r = pairLogProbs(reference, chunk, padId, maxLength);
        const c = r.chosen.toNumbers();
        const j = r.rejected.toNumbers();
        c.forEach((v, i) => out.push([v, j[i] as number]));
      });
    }
  });
  return out;
}

/** referenceLogProbs with the pairs shared out over the ranks of a data-parallel job, gathered back in order on every rank. */
function sharedReferenceLogProbs(reference: CausalLM, pairs: readonly EncodedPreference[], padId: number, maxLength: number, batchSize: number): [number, number][] {
  const job = dataParallel();
  if (job.worldSize === 1) return referenceLogProbs(reference, pairs, padId, maxLength, batchSize);
  const mine = referenceLogProbs(reference, job.share(pairs), padId, maxLength, batchSize);
  return tidy(() => job.gatherRows(mine.length ? tensor(mine, { dtype: 'float64' }) : zeros([0, 2], { dtype: 'float64' })).toArray() as [number, number][]);
}

/**
 * The reference log-probs of the training pairs, computed once and cached in `<outDir>/reference_logprobs.json`
 * (a resumed run reads them back instead of keeping the reference model busy again; with several processes, each computes its share and rank 0 writes the file).
 */
function cachedReferenceLogProbs(file: string, compute: () => [number, number][], count: number): [number, number][] {
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { logProbs: [number, number][] };
    if (saved.logProbs.length === count) return saved.logProbs;
  }
  const logProbs = compute();
  if (dataParallel().isMain) writeJsonAtomic(file, { logProbs });
  return logProbs;
}

/** Mean loss and implicit-reward metrics of `policy` against `reference` on `pairs` (no gradient). */
function evaluatePairs(policy: CausalLM, reference: CausalLM, pairs: readonly EncodedPreference[], config: PreferenceTrainConfig, padId: number, maxLength: number): PreferenceEval {
  const ref = referenceLogProbs(reference, pairs, padId, maxLength, config.batchSize * 2);
  policy.eval();
  const sums = { loss: 0, chosenReward: 0, rejectedReward: 0, margin: 0, accuracy: 0 };
  noGrad(() => {
    let at = 0;
    for (const chunk of chunks(pairs, config.batchSize * 2)) {
      tidy(() => {
        const lp = batchInputs(policy, chunk, ref.slice(at, at + chunk.length), padId, maxLength);
        const out = batchLoss(lp, chunk, config);
        sums.loss += out.loss.item() * chunk.length;
        for (const k of ['chosenReward', 'rejectedReward', 'margin', 'accuracy'] as const) sums[k] += (out.metrics[k] as number) * chunk.length;
      });
      at += chunk.length;
    }
  });
  const n = pairs.length;
  return { loss: sums.loss / n, chosenReward: sums.chosenReward / n, rejectedReward: sums.rejectedReward / n, margin: sums.margin / n, accuracy: sums.accuracy / n, n };
}

/**
 * Trains `policy` on preference pairs against a frozen `reference` (usually the same starting
 * model). Reference log-probs are computed once before the first step; `delta` > 0 offsets pairs
 * where a safe response beats an unsafe one (SafeDPO). Checkpoints go to `<outDir>/checkpoint`
 * every `checkpointEvery` steps; a later call with the same outDir resumes.
 */
export function trainPreferences(args: {
  policy: CausalLM;
  reference: CausalLM;
  tokenizer: Tokenizer;
  train: readonly PreferencePair[];
  test?: readonly PreferencePair[];
  config: PreferenceTrainConfig;
  delta?: number;
  outDir: string;
  /** Name shown on the progress bar and in messages. */
  label?: string;
  progress?: Progress;
}): PreferenceResult {
  const { policy, reference, tokenizer, config } = args;
  const label = args.label ?? 'dpo';
  const progress = args.progress ?? silentProgress;
  const padId = tokenizer.padId ?? 0;
  const delta = args.delta ?? 0;
  const maxLength = fitLength(config.maxLength, policy.contextLength, reference.contextLength);
  const { pairs, stats: truncation } = fitPreferences(tokenizer, args.train, maxLength, delta);
  if (truncation.truncated + truncation.skipped > 0) progress.log(`${label}: ${describeTruncation(truncation, 'pairs', 'response-start')}`);
  if (pairs.length === 0) {
    throw new NothingFitsError(
      `${label}: no pair to train on: ${truncation.total} pairs offered, ${truncation.skipped} skipped because the prompt leaves no room in ${maxLength} tokens (min of maxLength ${config.maxLength} and the model's context ${policy.contextLength})`,
    );
  }
  const ref = cachedReferenceLogProbs(join(args.outDir, 'reference_logprobs.json'), () => sharedReferenceLogProbs(reference, pairs, padId, maxLength, config.batchSize * 2), pairs.length);
  const { totalSteps, batchAt } = epochBatches(pairs.length, config.batchSize, config.epochs, config.seed);
  const run = startTraining<PreferenceLogRecord>({ label, model: policy, optim: config.optim, totalSteps, seed: config.seed, outDir: args.outDir, checkpointEvery: config.checkpointEvery, progress });
  const log = run.log;
  let step = run.startStep;
  while (step < totalSteps) {
    const batch = batchAt(step).map((i) => ({ pair: pairs[i] as EncodedPreference, ref: ref[i] as [number, number] }));
    const metrics = run.optimize(step, batch, (share) => {
      const sharePairs = share.map((b) => b.pair);
      return batchLoss(batchInputs(policy, sharePairs, share.map((b) => b.ref), padId, maxLength), sharePairs, config);
    });
    step++;
    const record: PreferenceLogRecord = {
      step,
      loss: metrics.loss,
      lr: metrics.lr,
      chosenReward: metrics.chosenReward as number,
      rejectedReward: metrics.rejectedReward as number,
      margin: metrics.margin as number,
      accuracy: metrics.accuracy as number,
    };
    log.push(record);
    progress.update(step, { loss: record.loss, margin: record.margin, acc: record.accuracy });
    run.checkpoint(step);
  }
  progress.stop();
  const result: PreferenceResult = { steps: step, log, truncation };
  if (args.test && args.test.length > 0) {
    const test = fitPreferences(tokenizer, args.test, maxLength, delta).pairs;
    if (test.length > 0) result.test = evaluatePairs(policy, reference, test, config, padId, maxLength);
  }
  return result;
}

type TrainArgs<C> = Omit<Parameters<typeof trainPreferences>[0], 'train' | 'test' | 'config' | 'delta'> & {
  train: readonly PreferenceRecord[];
  test?: readonly PreferenceRecord[];
  config: C;
};

/** The trainer's arguments with records turned into pairs by `select`. */
function withPairs<C>(args: TrainArgs<C>, select: (records: readonly PreferenceRecord[]) => PreferencePair[]) {
  const { train, test, ...rest } = args;
  return { ...rest, train: select(train), ...(test ? { test: select(test) } : {}) };
}

/** DPO (or IPO / robust DPO, by `config.variant`) on the helpfulness pairs: the more helpful response is chosen. */
export function trainDpo(args: TrainArgs<DpoConfig>): PreferenceResult {
  return trainPreferences({ ...withPairs(args, helpfulnessPairs), label: args.label ?? 'dpo' });
}

/** SafeDPO: helpfulness pairs reordered by safety, with the Δ offset on safe-over-unsafe pairs. Records without safety labels are left out. */
export function trainSafeDpo(args: TrainArgs<SafeDpoConfig>): PreferenceResult {
  const { delta, bothUnsafe, ...config } = args.config;
  return trainPreferences({ ...withPairs({ ...args, config }, (r) => safeDpoPairs(r, bothUnsafe)), delta, label: args.label ?? 'safe-dpo' });
}
