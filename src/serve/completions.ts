// One completion request's choices: each decoded by the batcher with its own seeded stream, streamed as text, optionally guarded.
import type { PromptInput } from '../models/prompt.js';
import type { Tokenizer } from '../models/tokenizer.js';
import type { Tensor } from '../torch/index.js';
import { verbalizedSample, type VerbalizedAnswer } from '../models/verbalized.js';
import { Rng } from '../world/rng.js';
import { QueueFullError, type Batcher } from './batcher.js';
import type { Guard, GuardVerdict, JudgePixels } from './guard.js';
import { TextAssembler } from './text-stream.js';

/** What to generate for one request, after validation. */
export interface CompletionJob {
  promptIds: readonly number[];
  /** The prompt as the guard's cost model reads it (rendered with its own tokenizer's template unless `raw`). */
  promptInput: PromptInput;
  /** An image prompt: its picture as the policy reads it (1, C, H, W), spliced in at the image tokens of `promptIds`. */
  pixels?: Tensor;
  /** An image prompt: its picture as each image + text guard model reads it. */
  judgePixels?: JudgePixels;
  raw: boolean;
  maxTokens: number;
  temperature: number;
  topP: number;
  stops: readonly string[];
  n: number;
  seed: number;
  /** Verbalized sampling: `promptIds` ask for k answers with probabilities; each choice is one drawn from the parsed list. */
  verbalized?: { k: number; attempts: number };
}

/** What verbalized sampling did for one choice (returned to the client as `safealign_verbalized`). */
export interface VerbalizedInfo {
  k: number;
  /** Index of the returned answer in `answers`. */
  chosen: number;
  answers: VerbalizedAnswer[];
  /** Sum of the stated probabilities (the weights are them divided by it). */
  statedSum: number;
  /** Generations made; every one before the last was rejected, with its problems in `rejected`. */
  attempts: number;
  rejected: string[][];
}

/** No generation of a choice was a well-formed verbalized list within the attempts. */
export class VerbalizedParseError extends Error {
  override name = 'VerbalizedParseError';
}

export interface ChoiceResult {
  index: number;
  text: string;
  finishReason: 'stop' | 'length';
  /** Tokens generated for the returned answer (a refusal counts the last flagged answer's). */
  completionTokens: number;
  /** With the guardrail: what it did. */
  guard?: GuardVerdict;
  /** With verbalized sampling: the parsed list and the draw. */
  verbalized?: VerbalizedInfo;
}

/** The client went away (or the server is closing) before the choice finished. */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

export interface CompletionContext {
  batcher: Batcher;
  tokenizer: Tokenizer;
  guard?: Guard | undefined;
}

/**
 * The seed of choice `index`'s stream in guard round `round` (and verbalized attempt `attempt`): a request's
 * seed gives the same choices however the batch is composed.
 */
export function streamSeed(seed: number, index: number, round: number, attempt = 0): number {
  return new Rng(seed).derive(`choice ${index} round ${round}${attempt > 0 ? ` attempt ${attempt}` : ''}`).seed;
}

interface Decoded {
  text: string;
  finishReason: 'stop' | 'length';
  tokens: number;
  verbalized?: VerbalizedInfo;
}

/** Verbalized sampling for one choice: lists decoded until one parses (attempts), then one answer drawn from it by the request's seed. */
async function decodeVerbalized(ctx: CompletionContext, job: CompletionJob, settings: { k: number; attempts: number }, index: number, round: number, signal: AbortSignal): Promise<Decoded> {
  let tokens = 0;
  const rng = new Rng(job.seed).derive(`verbalized choice ${index} round ${round}`);
  const r = await verbalizedSample(
    async (attempt) => {
      const d = await decodeOnce(ctx, job, index, round, signal, undefined, attempt);
      tokens += d.tokens;
      return d.text;
    },
    settings.k,
    settings.attempts,
    rng,
  );
  if (!r.ok) {
    throw new VerbalizedParseError(
      `verbalized sampling: choice ${index} gave no well-formed list of ${settings.k} answers in ${r.attempts} attempts (${r.rejected.map((p, i) => `attempt ${i + 1}: ${p.join('; ')}`).join(' | ')}); last output: ${JSON.stringify(r.raw.slice(0, 500))}`,
    );
  }
  return { text: r.answer, finishReason: 'stop', tokens, verbalized: { k: settings.k, chosen: r.chosen, answers: r.answers, statedSum: r.statedSum, attempts: r.attempts, rejected: r.rejected } };
}

function decodeOnce(ctx: CompletionContext, job: CompletionJob, index: number, round: number, signal: AbortSignal, onDelta?: (text: string) => void, attempt = 0): Promise<Decoded> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CancelledError('the request was cancelled'));
    const text = new TextAssembler(ctx.tokenizer, job.stops);
    const handle = ctx.batcher.submit({
      // a regeneration belongs to a request the queue already took
      admitted: round > 0,
      promptIds: job.promptIds,
      ...(job.pixels ? { pixels: job.pixels } : {}),
      maxTokens: job.maxTokens,
      temperature: job.temperature,
      topP: job.topP,
      seed: streamSeed(job.seed, index, round, attempt),
      onToken: (token) => {
        const delta = text.push(token);
        if (delta && onDelta) onDelta(delta);
        return text.stopped;
      },
      onEnd: (reason, error) => {
        signal.removeEventListener('abort', abort);
        if (error) return reject(error);
        if (reason === 'cancelled') return reject(new CancelledError('the request was cancelled'));
        const rest = text.flush();
        if (rest && onDelta) onDelta(rest);
        resolve({ text: text.text, finishReason: reason, tokens: text.tokenCount });
      },
    });
    const abort = () => handle.cancel();
    signal.addEventListener('abort', abort);
  });
}

/**
 * Runs the job's n choices concurrently (they share the batch with every other request). `onDelta`
 * receives each choice's text as it is generated; with the guardrail, a choice's text is sent once,
 * after the verdict. Throws `QueueFullError` when the waiting queue cannot take the n choices.
 */
export async function runChoices(ctx: CompletionContext, job: CompletionJob, signal: AbortSignal, onDelta?: (index: number, text: string) => void): Promise<ChoiceResult[]> {
  if (!ctx.batcher.canAccept(job.n)) throw new QueueFullError(`the server is busy (${ctx.batcher.stats.waiting} sequences waiting); retry later`);
  const controller = new AbortController();
  const abortAll = () => controller.abort();
  signal.addEventListener('abort', abortAll);
  const choices = Array.from({ length: job.n }, async (_, index): Promise<ChoiceResult> => {
    const guard = ctx.guard;
    const verbalized = job.verbalized;
    // a verbalized choice is known once its list is parsed: its text is sent then, in one piece
    const decode = (round: number, stream?: (t: string) => void) => (verbalized ? decodeVerbalized(ctx, job, verbalized, index, round, controller.signal) : decodeOnce(ctx, job, index, round, controller.signal, stream));
    const listed = (d: Decoded) => (d.verbalized ? { verbalized: d.verbalized } : {});
    if (!guard) {
      const d = await decode(0, onDelta && ((t) => onDelta(index, t)));
      if (verbalized) onDelta?.(index, d.text);
      return { index, text: d.text, finishReason: d.finishReason, completionTokens: d.tokens, ...listed(d) };
    }
    const r = await guard.run(job.promptInput, (round) => decode(round), job.raw, job.judgePixels);
    const text = r.refused ? guard.config.refusal : r.answer.text;
    onDelta?.(index, text);
    return { index, text, finishReason: r.refused ? 'stop' : r.answer.finishReason, completionTokens: r.answer.tokens, guard: r.verdict, ...listed(r.answer) };
  });
  try {
    return await Promise.all(choices);
  } catch (e) {
    // one choice failed: the others stop too, and are waited for, so that nothing (a batch row, a guard's pending
    // judgement) still reads the request's pixels when the caller frees them
    controller.abort();
    await Promise.allSettled(choices);
    throw e;
  } finally {
    signal.removeEventListener('abort', abortAll);
  }
}
