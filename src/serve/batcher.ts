// Continuous batching: one scheduler loop decodes every running sequence in shared forward passes; sequences join and leave between steps.
import { padPromptsLeft } from '../algorithms/common/batching.js';
import { lmForward } from '../algorithms/common/model-input.js';
import { languageOf, readsImages, type PolicyModel } from '../algorithms/rl/images.js';
import type { LayerCache } from '../models/attention.js';
import type { CausalLM } from '../models/causal-lm.js';
import { ContextLengthError } from '../models/generate.js';
import { ImageTokenError } from '../models/llava.js';
import { cat, noGrad, ones, tensor, tidy, zeros, type Tensor } from '../torch/index.js';
import { SamplingStream, sampleRows, type RowSampling } from './sampling.js';

/** Why a sequence ended: a stop token or stop string ('stop'), its token budget ('length'), or the caller gave up ('cancelled'). */
export type FinishReason = 'stop' | 'length' | 'cancelled';

/** One sequence to decode. */
export interface SequenceRequest extends RowSampling {
  /** The prompt's token ids (the chat template already applied); an image prompt's hold the image tokens its pixels fill. */
  promptIds: readonly number[];
  /**
   * An image prompt's pixel values (1, C, H, W), for an image + text (LLaVA) model: spliced in at the image tokens when the
   * sequence is prefilled. Owned by the caller, who keeps them until `onEnd`.
   */
  pixels?: Tensor;
  /** Most new tokens; cut to what the model's context leaves after the prompt. */
  maxTokens: number;
  /** Seed of the sequence's own random stream: the same seed gives the same tokens whatever else shares the batch. */
  seed: number;
  /** Each new token (never a stop token); return true to end the sequence here (e.g. a stop string appeared). */
  onToken(token: number): boolean | void;
  /** Called once, at the end. `error` when the engine failed. */
  onEnd(reason: FinishReason, error?: Error): void;
  /** Part of a request already admitted (a guard regeneration): queued even when the waiting queue is full. */
  admitted?: boolean;
}

export interface SequenceHandle {
  /** Ends the sequence before its next token (its batch slot is freed at the next step). */
  cancel(): void;
}

/** The waiting queue is full: the caller should answer 429 and the client retry later. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

export interface BatcherOptions {
  /** Most sequences decoded together; 1 turns batching off (one sequence at a time, in arrival order). */
  maxBatch: number;
  /** Most sequences waiting for a slot; more are refused with `QueueFullError`. */
  maxWaiting: number;
  stopTokenIds: readonly number[];
  padId: number;
}

/** Counters for /metrics and benchmarks. */
export interface BatcherStats {
  running: number;
  waiting: number;
  /** Decoding steps (one forward pass over every running row each). */
  steps: number;
  /** Sum over steps of the rows decoded: rowSteps / steps is the mean batch size. */
  rowSteps: number;
  /** Prefill forward passes (sequences joining, several at once when they arrive together). */
  prefills: number;
  generatedTokens: number;
  finished: Record<FinishReason, number>;
}

interface Row {
  req: SequenceRequest;
  stream: SamplingStream;
  maxTokens: number;
  /** Real tokens of this row in the cache (prompt + fed tokens). */
  length: number;
  generated: number;
  cancelled: boolean;
}

/** The decoding state of the running rows: the KV cache and mask (B, L), left-padded, and the logits of each row's next token. */
interface BatchState {
  cache: LayerCache[];
  /** (B, L) 1 for real tokens. */
  mask: Tensor;
  /** (B, V) next-token logits. */
  last: Tensor;
}

function disposeState(s: BatchState | null): void {
  if (!s) return;
  for (const layer of s.cache) {
    layer.k.dispose();
    layer.v.dispose();
  }
  s.mask.dispose();
  s.last.dispose();
}

/** t (B, ..., L, ...) left-padded with zeros along `dim` to `length`. */
function padLeft(t: Tensor, dim: number, length: number): Tensor {
  const have = t.shape[dim] as number;
  if (have === length) return t;
  const shape = [...t.shape];
  shape[dim] = length - have;
  return cat([zeros(shape, { dtype: t.dtype, device: t.device }), t], dim);
}

/** Two batch states as one: both left-padded to the longer length, rows of `a` first. */
function mergeStates(a: BatchState, b: BatchState): BatchState {
  const length = Math.max(a.mask.shape[1] as number, b.mask.shape[1] as number);
  return {
    cache: a.cache.map((la, i) => {
      const lb = b.cache[i] as LayerCache;
      return { k: cat([padLeft(la.k, 2, length), padLeft(lb.k, 2, length)], 0), v: cat([padLeft(la.v, 2, length), padLeft(lb.v, 2, length)], 0) };
    }),
    mask: cat([padLeft(a.mask, 1, length), padLeft(b.mask, 1, length)], 0),
    last: cat([a.last, b.last], 0),
  };
}

/** The rows `keep` of a state, with the leading columns no kept row uses cut off (`length` = the longest kept row). */
function selectRows(s: BatchState, keep: readonly number[], length: number): BatchState {
  const index = tensor([...keep], { dtype: 'int64', device: s.mask.device });
  const from = (s.mask.shape[1] as number) - length;
  const rows = (t: Tensor, dim: number) => t.indexSelect(0, index).narrow(dim, from, length);
  return { cache: s.cache.map((l) => ({ k: rows(l.k, 2), v: rows(l.v, 2) })), mask: rows(s.mask, 1), last: s.last.indexSelect(0, index) };
}

/**
 * Decodes sequences with continuous batching. Each step: cancelled rows leave, waiting sequences
 * join (prefilled together in one forward pass, image prompts with their pictures spliced in at their image tokens, as
 * LlavaModel.generate does; then merged into the left-padded KV cache), every
 * running row samples its next token from its own stream, finished rows leave, and one forward pass
 * feeds the new tokens of the rest. Steps run one at a time on the event loop, which serves HTTP
 * between them.
 */
export class Batcher {
  private readonly waiting: Row[] = [];
  private rows: Row[] = [];
  private state: BatchState | null = null;
  private wake: (() => void) | null = null;
  private closed = false;
  private readonly stopTokens: Set<number>;
  /** The text side that decodes from the cache (the model itself, or a LLaVA model's language model). */
  private readonly lm: CausalLM;
  /** A LLaVA model's image token made impossible to sample (an answer holding one would need an image there). */
  private readonly ban: ((logits: Tensor) => Tensor) | undefined;
  private readonly loop: Promise<void>;
  private readonly counters: Omit<BatcherStats, 'running' | 'waiting'> = {
    steps: 0,
    rowSteps: 0,
    prefills: 0,
    generatedTokens: 0,
    finished: { stop: 0, length: 0, cancelled: 0 },
  };

  constructor(
    private readonly model: PolicyModel,
    private readonly options: BatcherOptions,
  ) {
    this.stopTokens = new Set(options.stopTokenIds);
    this.lm = languageOf(model);
    if (readsImages(model)) {
      const ban = model.banImageToken();
      this.ban = (logits) => ban(logits, 0);
    }
    model.eval();
    this.loop = this.run();
  }

  get stats(): BatcherStats {
    return { running: this.rows.length, waiting: this.waiting.length, ...this.counters, finished: { ...this.counters.finished } };
  }

  /** Whether `n` more sequences fit in the waiting queue now. */
  canAccept(n: number): boolean {
    return !this.closed && this.waiting.length + n <= this.options.maxWaiting;
  }

  /** Queues a sequence. Throws `ContextLengthError` when the prompt leaves no room, `QueueFullError` when the queue is full. */
  submit(req: SequenceRequest): SequenceHandle {
    if (this.closed) throw new QueueFullError('the server is shutting down');
    const room = this.model.contextLength - req.promptIds.length;
    if (req.promptIds.length === 0) throw new ContextLengthError('the prompt is empty: nothing to continue');
    if (room < 1) throw new ContextLengthError(`a prompt of ${req.promptIds.length} tokens leaves no room to generate in the model's context of ${this.model.contextLength} tokens`);
    this.checkImageTokens(req);
    if (!req.admitted && this.waiting.length >= this.options.maxWaiting) throw new QueueFullError(`${this.waiting.length} requests are already waiting for a batch slot; retry later`);
    const row: Row = { req, stream: new SamplingStream(req.seed), maxTokens: Math.min(req.maxTokens, room), length: req.promptIds.length, generated: 0, cancelled: false };
    this.waiting.push(row);
    this.wake?.();
    return {
      cancel: () => {
        if (row.cancelled) return;
        row.cancelled = true;
        // a waiting row leaves the queue at once (it holds no batch state); a running one at the next step
        const at = this.waiting.indexOf(row);
        if (at >= 0) {
          this.waiting.splice(at, 1);
          this.end(row, 'cancelled');
        }
        this.wake?.();
      },
    };
  }

  /**
   * Throws `ImageTokenError` unless the prompt's image tokens are exactly what its pixels fill (none without pixels), so a
   * prompt that would fail the shared prefill pass is refused alone, before it joins a batch.
   */
  private checkImageTokens(req: SequenceRequest): void {
    const images = (req.pixels?.shape[0] as number | undefined) ?? 0;
    if (!readsImages(this.model)) {
      if (images) throw new ImageTokenError('the prompt has an image but the model reads text only');
      return;
    }
    const id = this.model.config.image_token_index;
    const found = req.promptIds.filter((t) => t === id).length;
    const expected = images * this.model.imageTokensPerImage;
    if (found !== expected) throw new ImageTokenError(`the prompt holds ${found} image tokens (id ${id}) but ${images} image(s) fill ${expected}`);
  }

  /** Stops the loop; every waiting and running sequence ends as 'cancelled'. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.rows.length === 0 && this.waiting.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      try {
        noGrad(() => this.step());
      } catch (e) {
        this.failAll(e as Error);
      }
      // let the event loop read requests and write responses between forward passes
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    for (const row of [...this.waiting.splice(0), ...this.rows]) this.end(row, 'cancelled');
    this.rows = [];
    disposeState(this.state);
    this.state = null;
  }

  private end(row: Row, reason: FinishReason, error?: Error): void {
    this.counters.finished[reason]++;
    try {
      row.req.onEnd(reason, error);
    } catch {
      // a caller's callback must not stop the loop
    }
  }

  private failAll(error: Error): void {
    for (const row of [...this.waiting.splice(0), ...this.rows]) this.end(row, 'cancelled', error);
    this.rows = [];
    disposeState(this.state);
    this.state = null;
  }

  /** Next-token logits (B, V) with the tokens no row may sample removed. */
  private allowed(logits: Tensor): Tensor {
    return this.ban ? this.ban(logits) : logits;
  }

  /** Replaces the state by the rows `keep` (indices into this.rows), or by nothing. */
  private keepRows(keep: number[]): void {
    if (keep.length === this.rows.length) return;
    const old = this.state;
    const rows = keep.map((i) => this.rows[i] as Row);
    this.state = rows.length && old ? tidy(() => selectRows(old, keep, Math.max(...rows.map((r) => r.length)))) : null;
    disposeState(old);
    this.rows = rows;
  }

  /** Prefills the joining rows in one forward pass (left-padded) and merges them into the state. */
  private admit(joining: Row[]): void {
    const padded = padPromptsLeft(joining.map((r) => [...r.req.promptIds]), this.options.padId);
    const length = padded.ids[0]?.length ?? 0;
    const old = this.state;
    try {
      this.state = tidy(() => {
        const on = { dtype: 'int64', device: this.model.device } as const;
        const mask = tensor(padded.attentionMask, on);
        // the joining rows' pictures, in row order (the order of their image tokens in the padded batch)
        const images = joining.flatMap((r) => (r.req.pixels ? [r.req.pixels] : []));
        const out = lmForward(this.model, tensor(padded.ids, on), mask, images.length ? cat(images, 0) : null);
        const fresh: BatchState = { cache: out.cache, mask, last: this.allowed(out.logits.select(1, length - 1)) };
        return old ? mergeStates(old, fresh) : fresh;
      });
    } catch (e) {
      // the joining rows are in neither list yet: end them here (failAll ends the others)
      for (const row of joining) this.end(row, 'cancelled', e as Error);
      throw e;
    }
    if (old) disposeState(old);
    this.rows.push(...joining);
    this.counters.prefills++;
  }

  private step(): void {
    for (const row of this.rows) if (row.cancelled) this.end(row, 'cancelled');
    this.keepRows(this.rows.flatMap((r, i) => (r.cancelled ? [] : [i])));
    const joining: Row[] = [];
    while (this.waiting.length && this.rows.length + joining.length < this.options.maxBatch) {
      const row = this.waiting.shift() as Row;
      if (row.cancelled) this.end(row, 'cancelled');
      else joining.push(row);
    }
    if (joining.length) this.admit(joining);
    const state = this.state;
    if (!state || this.rows.length === 0) return;

    const tokens = sampleRows(state.last, this.rows.map((r) => r.req), this.rows.map((r) => r.stream.uniform()));
    this.counters.steps++;
    this.counters.rowSteps += this.rows.length;
    const keep: number[] = [];
    this.rows.forEach((row, i) => {
      const token = tokens[i] as number;
      row.generated++;
      this.counters.generatedTokens++;
      if (row.cancelled) return this.end(row, 'cancelled');
      if (this.stopTokens.has(token)) return this.end(row, 'stop');
      let stop: boolean | void = false;
      try {
        stop = row.req.onToken(token);
      } catch (e) {
        return this.end(row, 'cancelled', e as Error);
      }
      if (stop) return this.end(row, 'stop');
      if (row.generated >= row.maxTokens) return this.end(row, 'length');
      keep.push(i);
    });
    const fed = keep.map((i) => tokens[i] as number);
    this.keepRows(keep);
    if (!this.rows.length) return;
    const old = this.state as BatchState;
    this.state = tidy(() => {
      const on = { dtype: 'int64', device: old.mask.device } as const;
      const mask = cat([old.mask, ones([fed.length, 1], on)], 1);
      const out = this.lm.forward(tensor(fed.map((t) => [t]), on), mask, old.cache);
      return { cache: out.cache, mask, last: this.allowed(out.logits.select(1, 0)) };
    });
    disposeState(old);
    for (const row of this.rows) row.length++;
  }
}
