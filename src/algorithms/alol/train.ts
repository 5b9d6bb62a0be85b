// A-LoL (Baheti et al. 2023): offline advantage-weighted training on fixed (prompt, response) data, A = R − V with V from the reference policy's own samples; resumable checkpoints.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../core/fs-atomic.js';
import { silentProgress, type Progress } from '../../core/progress.js';
import type { PreferenceRecord } from '../../data/record.js';
import { dataParallel } from '../../distributed/data-parallel.js';
import { alolLoss } from '../../losses/index.js';
import { sequenceLogProbs, type CausalLM } from '../../models/index.js';
import type { PromptInput } from '../../models/prompt.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { noGrad, tensor, type Tensor } from '../../torch/index.js';
import { Rng } from '../../world/rng.js';
import { encodePair, padForTraining, type EncodedPair } from '../common/batching.js';
import { countFit, describeTruncation, emptyTruncationStats, fitLength, fitPair, NothingFitsError, type TruncationStats } from '../common/truncation.js';
import { startTraining } from '../common/training-run.js';
import type { RlPrompt } from '../rl/train.js';
import type { AlolConfig } from './config.js';
import { estimateValues, responseRewards, type AlolJudges, type ValueFit } from './value.js';

/** One training response: its prompt and text, and where it came from. */
export interface AlolItem extends PromptInput {
  response: string;
  source: string;
}

export interface AlolLogRecord {
  step: number;
  loss: number;
  lr: number;
  /** Mean sequence NLL of the batch's responses under π_θ. */
  nll: number;
  /** Mean log π_θ(y|x) − log π_ref(y|x) over the batch. */
  logRatio: number;
  /** Mean advantage of the batch. */
  advantage: number;
}

export interface AlolResult {
  steps: number;
  log: AlolLogRecord[];
  truncation: TruncationStats;
  value: ValueFit;
  /** Responses scored, those with A > 0 (the only ones trained on), their mean advantage, and those the scorers could not read. */
  advantages: { items: number; positive: number; meanPositive: number; unscored: number };
}

/** Both responses of every preference record as A-LoL items (LoL-RL's 'all' data: the advantage decides which help). */
export function alolItems(records: readonly PreferenceRecord[]): AlolItem[] {
  return records.flatMap((r, i) => {
    const source = r.source?.file !== undefined && r.source.line !== undefined ? `${r.source.file}:${r.source.line}` : `#${i}`;
    return r.responses.map((response) => ({ prompt: r.prompt, ...(r.context ? { context: r.context } : {}), response, source }));
  });
}

interface Scored {
  rewards: number[];
  values: number[];
  fit: ValueFit;
}

/** R of every item and V of its prompt, computed once and cached in `<outDir>/advantages.json` (a resumed run reads them back; with several processes, rank 0 writes it). */
function cachedScores(file: string, key: Record<string, unknown>, compute: () => Scored): Scored {
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { key: Record<string, unknown>; scored: Scored };
    if (JSON.stringify(saved.key) === JSON.stringify(key)) return { ...saved.scored, rewards: saved.scored.rewards.map((r) => r ?? NaN) };
  }
  const scored = compute();
  if (dataParallel().isMain) writeJsonAtomic(file, { key, scored });
  return scored;
}

/** `k` indices drawn with replacement with probability ∝ weights (all > 0). */
function drawWeighted(rng: Rng, cumulative: readonly number[], k: number): number[] {
  const total = cumulative[cumulative.length - 1] as number;
  return Array.from({ length: k }, () => {
    const x = rng.next() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  });
}

/** Per-token log-probs (B, T) of the responses and their mask, from one forward pass of `model`. */
function tokenLogProbs(model: CausalLM, batch: readonly EncodedPair[], padId: number, maxLength: number): { logProbs: Tensor; mask: Tensor } {
  const b = padForTraining(batch, padId, maxLength);
  const device = model.device;
  const ids = tensor(b.ids, { dtype: 'int64', device });
  const len = ids.shape[1] as number;
  const mask = tensor(b.responseMask, { device }).narrow(1, 1, len - 1);
  return { logProbs: sequenceLogProbs(model, ids, tensor(b.attentionMask, { dtype: 'int64', device })).mul(mask), mask };
}

/**
 * Trains `policy` with A-LoL (`config.variant`) on `items` against the frozen `reference`: R(x, y) from the
 * reward (and cost) model, V(x) from a value head fitted on the reference policy's samples of `prompts`, and
 * only A = R − V > 0 kept; batches are drawn ∝ A. Checkpoints go to `<outDir>/checkpoint`; a later call resumes.
 */
export function trainAlol(args: {
  policy: CausalLM;
  reference: CausalLM;
  tokenizer: Tokenizer;
  items: readonly AlolItem[];
  /** Prompts the value head is fitted on (usually the training prompts). */
  prompts: readonly RlPrompt[];
  judges: AlolJudges;
  config: AlolConfig;
  outDir: string;
  label?: string;
  progress?: Progress;
}): AlolResult {
  const { policy, reference, tokenizer, config } = args;
  const label = args.label ?? 'alol';
  const progress = args.progress ?? silentProgress;
  const padId = tokenizer.padId ?? 0;
  const maxLength = fitLength(config.maxLength, policy.contextLength, reference.contextLength);
  const key = { costWeight: config.costWeight, value: config.value, seed: config.seed, items: args.items.length };
  const scored = cachedScores(join(args.outDir, 'advantages.json'), key, () => {
    const rewards = responseRewards(args.judges, args.items);
    const { values, fit } = estimateValues({ reference, tokenizer, prompts: args.prompts, targets: args.items, judges: args.judges, config: config.value, seed: config.seed, progress });
    return { rewards, values, fit };
  });
  const unscored = scored.rewards.filter((r) => !Number.isFinite(r)).length;
  const stats = emptyTruncationStats(maxLength);
  const data: { pair: EncodedPair; advantage: number }[] = [];
  args.items.forEach((it, i) => {
    const advantage = (scored.rewards[i] as number) - (scored.values[i] as number);
    if (!(advantage > 0)) return;
    const fit = fitPair(encodePair(tokenizer, it, it.response), maxLength, 'response-start');
    countFit(stats, fit === null ? 'skipped' : fit.truncated ? 'truncated' : 'kept', it.source);
    if (fit) data.push({ pair: fit.pair, advantage });
  });
  if (stats.truncated + stats.skipped > 0) progress.log(`${label}: ${describeTruncation(stats, 'responses', 'response-start')}`);
  const meanPositive = data.reduce((a, d) => a + d.advantage, 0) / Math.max(1, data.length);
  progress.log(`${label}: V fitted on ${scored.fit.samples} samples of π_ref (mean reward ${scored.fit.meanReward.toFixed(3)}, MSE ${scored.fit.mse.toFixed(3)}); ${data.length} of ${args.items.length} responses have A > 0 (mean ${meanPositive.toFixed(3)})`);
  if (data.length === 0) throw new NothingFitsError(`${label}: no response with a positive advantage fits in ${maxLength} tokens (${args.items.length} offered, ${unscored} unreadable by the score models)`);

  const totalSteps = Math.max(1, Math.round((data.length * config.epochs) / config.batchSize));
  const run = startTraining<AlolLogRecord>({ label, model: policy, optim: config.optim, totalSteps, seed: config.seed, outDir: args.outDir, checkpointEvery: config.checkpointEvery, progress });
  const log = run.log;
  const cumulative: number[] = [];
  data.reduce((acc, d) => (cumulative.push(acc + d.advantage), acc + d.advantage), 0);
  const rng = new Rng(config.seed);
  reference.eval();
  let step = run.startStep;
  while (step < totalSteps) {
    // each step's draw depends on the seed and the step only, so a resumed run sees the same batches
    const batch = drawWeighted(rng.derive(`step-${step}`), cumulative, config.batchSize).map((i) => data[i] as (typeof data)[number]);
    const metrics = run.optimize(step, batch, (share) => {
      const pairs = share.map((d) => d.pair);
      const refLogProbs = noGrad(() => tokenLogProbs(reference, pairs, padId, maxLength).logProbs);
      const { logProbs, mask } = tokenLogProbs(policy, pairs, padId, maxLength);
      return alolLoss({ logProbs, refLogProbs, mask, advantages: tensor(share.map((d) => d.advantage), { device: logProbs.device }) }, config);
    });
    step++;
    log.push({ step, loss: metrics.loss, lr: metrics.lr, nll: metrics.nll as number, logRatio: metrics.logRatio as number, advantage: metrics.advantage as number });
    progress.update(step, { loss: metrics.loss, nll: metrics.nll as number });
    run.checkpoint(step);
  }
  progress.stop();
  return { steps: step, log, truncation: stats, value: scored.fit, advantages: { items: args.items.length, positive: data.length, meanPositive, unscored } };
}
