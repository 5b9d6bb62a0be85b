// Supervised fine-tuning: next-token cross-entropy on response tokens, with eval perplexity and resumable checkpoints.
import { silentProgress, type Progress } from '../../core/progress.js';
import { tokenCrossEntropy, type LossOutput } from '../../losses/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { noGrad, tensor, tidy } from '../../torch/index.js';
import { chunks, epochBatches, padForTraining, type EncodedPair } from '../common/batching.js';
import { startLora } from '../common/lora.js';
import { startTraining } from '../common/training-run.js';
import { describeTruncation, fitExamples, fitLength, NothingFitsError, type TruncationStats } from '../common/truncation.js';
import type { ChatMessage, PromptOptions } from '../../models/index.js';
import { batchPixels, imageTokensOf, lmForward, loraTarget, type LanguageModel } from '../common/model-input.js';
import type { Tensor } from '../../torch/index.js';
import type { SftConfig } from './config.js';

export interface SftExample {
  prompt: string;
  /** Earlier turns of the conversation, oldest first. */
  context?: ChatMessage[];
  response: string;
  /** An image prompt's pixel values (1, C, H, W), for an image + text (LLaVA) policy. */
  pixels?: Tensor;
  /** Where the example came from (`file:line`), to name it if it cannot fit. */
  source?: string;
}

export interface SftLogRecord {
  step: number;
  loss: number;
  lr: number;
  evalLoss?: number;
  evalPerplexity?: number;
}

export interface SftResult {
  steps: number;
  finalEvalLoss: number;
  finalEvalPerplexity: number;
  log: SftLogRecord[];
  /** What fitting to min(maxLength, model context) did: the response's start is kept, a prompt with no room left is skipped. */
  truncation: { train: TruncationStats; test: TruncationStats };
}

/** Mean response-token loss over `pairs` (no gradient). */
export function evaluateLoss(model: LanguageModel, pairs: readonly EncodedPair[], padId: number, batchSize: number, maxLength: number): number {
  const { total, count } = lossSums(model, pairs, padId, batchSize, maxLength);
  return count ? total / count : NaN;
}

/** The summed response-token loss over `pairs` and the number of those tokens (no gradient). */
function lossSums(model: LanguageModel, pairs: readonly EncodedPair[], padId: number, batchSize: number, maxLength: number): { total: number; count: number } {
  model.eval();
  let total = 0;
  let count = 0;
  noGrad(() => {
    for (const chunk of chunks(pairs, batchSize)) {
      tidy(() => {
        const b = padForTraining(chunk, padId, maxLength);
        const { metrics, tokens } = lmLoss(model, b.ids, b.attentionMask, b.responseMask, batchPixels(chunk));
        total += (metrics.loss as number) * tokens;
        count += tokens;
      });
    }
  });
  return { total, count };
}

/** Loss of predicting token t+1 from positions <= t, on response tokens only, and the number of those tokens. */
function lmLoss(model: LanguageModel, ids: number[][], attention: number[][], response: number[][], pixels: Tensor | null): LossOutput & { tokens: number } {
  const device = model.device;
  const idsT = tensor(ids, { dtype: 'int64', device });
  const attn = tensor(attention, { dtype: 'int64', device });
  const len = ids[0]?.length ?? 0;
  const { logits } = lmForward(model, idsT, attn, pixels);
  const shiftedLogits = logits.narrow(1, 0, len - 1);
  const labels = idsT.narrow(1, 1, len - 1);
  const mask = tensor(response, { device }).narrow(1, 1, len - 1);
  return { ...tokenCrossEntropy(shiftedLogits, labels, mask), tokens: mask.sum().item() };
}

/**
 * Trains `model` on (prompt, response) pairs. Checkpoints (weights, optimiser, step, log) go to
 * `<outDir>/checkpoint` every `checkpointEvery` steps; a later call with the same outDir resumes.
 * With `config.lora` only adapters train; at the end they are saved to `<outDir>/adapter` (peft
 * layout) and merged into `model`.
 */
export function trainSft(args: {
  /** A text LM, or an image + text (LLaVA) one for examples with pixels (its tower frozen or not as the caller left it). */
  model: LanguageModel;
  tokenizer: Tokenizer;
  train: readonly SftExample[];
  test: readonly SftExample[];
  config: SftConfig;
  outDir: string;
  progress?: Progress;
  /** How prompts become text (default: the tokenizer's chat template). */
  prompt?: PromptOptions;
}): SftResult {
  const { model, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const padId = tokenizer.padId ?? 0;
  const maxLength = fitLength(config.maxLength, model.contextLength);
  const image = imageTokensOf(model, tokenizer);
  const prompt = image ? { ...args.prompt, image } : args.prompt;
  const trainFit = fitExamples(tokenizer, args.train, maxLength, 'response-start', prompt);
  const testFit = fitExamples(tokenizer, args.test, maxLength, 'response-start', prompt);
  const train = trainFit.pairs;
  const test = testFit.pairs;
  const truncation = { train: trainFit.stats, test: testFit.stats };
  for (const [split, stats] of Object.entries(truncation)) {
    if (stats.truncated + stats.skipped > 0) progress.log(`sft: ${split}: ${describeTruncation(stats, 'examples', 'response-start')}`);
  }
  if (train.length === 0) {
    throw new NothingFitsError(`sft: none of the ${args.train.length} training examples fits in ${maxLength} tokens (min of sft.maxLength ${config.maxLength} and the model's context ${model.contextLength}); every prompt is too long`);
  }
  const { totalSteps, batchAt } = epochBatches(train.length, config.batchSize, config.epochs, config.seed);
  const lora = startLora(loraTarget(model), config.lora, config.seed);
  const run = startTraining<SftLogRecord>({ label: 'sft', model, optim: config.optim, totalSteps, seed: config.seed, outDir: args.outDir, checkpointEvery: config.checkpointEvery, progress });
  const log = run.log;
  const evaluate = () => {
    // each rank of a data-parallel job evaluates its share of the test split
    const mine = lossSums(model, run.job.share(test), padId, config.batchSize * 2, maxLength);
    const [total = 0, count = 0] = run.job.sum([mine.total, mine.count]);
    const evalLoss = count ? total / count : NaN;
    return { evalLoss, evalPerplexity: Math.exp(evalLoss) };
  };
  let step = run.startStep;
  while (step < totalSteps) {
    const batch = batchAt(step).map((i) => train[i] as EncodedPair);
    const { loss, lr } = run.optimize(step, batch, (share) => {
      const b = padForTraining(share, padId, maxLength);
      const out = lmLoss(model, b.ids, b.attentionMask, b.responseMask, batchPixels(share));
      return { ...out, weight: out.tokens };
    });
    step++;
    const record: SftLogRecord = { step, loss, lr };
    if (step % config.evalEvery === 0 || step === totalSteps) Object.assign(record, evaluate());
    log.push(record);
    progress.update(step, { loss, ...(record.evalLoss !== undefined ? { evalLoss: record.evalLoss } : {}) });
    run.checkpoint(step);
  }
  progress.stop();
  const last = [...log].reverse().find((r) => r.evalLoss !== undefined);
  const final = last ? { evalLoss: last.evalLoss as number, evalPerplexity: last.evalPerplexity as number } : evaluate();
  lora?.finish(args.outDir);
  return { steps: step, finalEvalLoss: final.evalLoss, finalEvalPerplexity: final.evalPerplexity, log, truncation };
}
