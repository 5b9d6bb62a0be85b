// Batched generation with a KV cache (left-padded prompts), and per-token log-probabilities for RL.
import { cat, chain, full, noGrad, ones, tensor, tidy, where, zeros, type Tensor } from '../torch/index.js';
import { keepCacheRows, preallocate, type LayerCache } from './attention.js';
import type { CausalLM } from './causal-lm.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Greedy decoding (argmax) instead of sampling. */
  greedy?: boolean;
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Nucleus sampling: keep the smallest set with probability >= topP (1 = off). */
  topP?: number;
  /** HF-style repetition penalty (1 = off). */
  repetitionPenalty?: number;
  stopTokenIds?: number[];
  padId: number;
  /**
   * Rewrites the (B, V) logits of decoding step t (0-based) before the token is chosen (HF's logits processor), e.g. to
   * ban or force tokens; the returned log-probs stay those of the model's own distribution.
   */
  processLogits?: (logits: Tensor, step: number) => Tensor;
  /**
   * Runs the prompt pass instead of the model's own forward (a LLaVA model splicing its images into the prompt): inputIds,
   * attentionMask (B, L) -> the last position's logits (B, 1, V) and the cache. Every row is run (rows with the same tokens
   * may differ in what the prefill adds); decoding then goes on with the model's forward.
   */
  prefill?: (inputIds: Tensor, attentionMask: Tensor) => { logits: Tensor; cache: LayerCache[] };
}

export interface GenerateOutput {
  /** (B, L + T) prompt then generated tokens (pad after a stop token). */
  sequences: Tensor;
  /** (B, L + T) 1 for real tokens (prompt and response up to and including the stop token). */
  attentionMask: Tensor;
  /** (B, T) 1 for generated tokens up to and including the stop token. */
  responseMask: Tensor;
  /**
   * (B, T) natural log-probability of each chosen token under the model's own distribution
   * (softmax of the raw logits, temperature 1, no filtering) — what PPO's ratio needs.
   */
  logProbs: Tensor;
}

/** Applies repetition penalty, temperature, top-k and top-p to logits (B, V); returns filtered logits. */
function shapeLogits(logits: Tensor, generated: Tensor | null, opts: GenerateOptions): Tensor {
  let x = logits;
  const penalty = opts.repetitionPenalty ?? 1;
  if (penalty !== 1 && generated) {
    const seen = x.gather(1, generated);
    x = x.scatter(1, generated, where(seen.gt(0), seen.div(penalty), seen.mul(penalty)));
  }
  // x / 1 is x, bit for bit: temperature 1 (the RL default) skips the pass over the (B, V) logits
  const temperature = opts.temperature ?? 1;
  if (temperature !== 1) x = x.div(temperature);
  const k = opts.topK ?? 0;
  if (k > 0 && k < (x.shape[1] as number)) {
    const kth = x.topk(k, 1).values.narrow(1, k - 1, 1);
    x = x.maskedFill(x.lt(kth), -Infinity);
  }
  const p = opts.topP ?? 1;
  return p < 1 ? nucleusFilter(x, p) : x;
}

/**
 * Nucleus (top-p) filter of logits x (B, V): tokens are dropped (-inf) once the probability mass of
 * the more likely tokens before them already reaches p; the top token is always kept. p: a number,
 * or (B, 1) per row (a row with p = 1 keeps every token).
 */
export function nucleusFilter(x: Tensor, p: number | Tensor): Tensor {
  const { values, indices } = x.sort(1, true);
  const probs = values.softmax(1);
  const drop = probs.cumsum(1).sub(probs).ge(p);
  return x.scatter(1, indices, values.maskedFill(drop, -Infinity));
}

/** The first row of each distinct (ids, mask) row of a batch, and for every row the index of its row among those firsts. */
function distinctRows(inputIds: Tensor, attentionMask: Tensor): { unique: number[]; of: number[] } {
  const ids = inputIds.toArray() as number[][];
  const mask = attentionMask.toArray() as number[][];
  const seen = new Map<string, number>();
  const unique: number[] = [];
  const of = ids.map((row, r) => {
    const key = `${row.join(',')}|${(mask[r] as number[]).join(',')}`;
    let i = seen.get(key);
    if (i === undefined) {
      i = unique.length;
      seen.set(key, i);
      unique.push(r);
    }
    return i;
  });
  return { unique, of };
}

/** The prompt batch leaves no room to generate in the model's context. */
export class ContextLengthError extends Error {
  override name = 'ContextLengthError';
}

/**
 * Generates up to `maxNewTokens` for each left-padded prompt. inputIds, attentionMask: (B, L).
 * The whole sequence (L + T) stays within the model's context: T is at most context − L, and a
 * batch whose padded prompt length L fills the context throws a `ContextLengthError`.
 * Deterministic under manualSeed. Runs without gradient; intermediate tensors are freed per step.
 *
 * Work per step: the prompt pass runs once per distinct prompt and computes the logits of its last position only; a row that has
 * stopped leaves the decoding batch (its KV cache rows are dropped; no forward runs on it) and sampling (log-softmax, logit
 * shaping, softmax and the draw run on the rows still decoding; a `processLogits` still gets the (B, V) matrix, a stopped
 * row's logits zeros). Its token is the pad and its random numbers are consumed (`multinomialRows`: multinomial draws B·V
 * numbers a step), so the random stream and the tokens are those of a batch that never shrinks. The KV cache is
 * preallocated for the whole generation after the prompt pass and each step writes its keys and values in place.
 */
export function generate(model: CausalLM, inputIds: Tensor, attentionMask: Tensor, options: GenerateOptions): GenerateOutput {
  const promptLength = inputIds.shape[1] as number;
  const room = model.contextLength - promptLength;
  if (room < 1) {
    throw new ContextLengthError(`a prompt of ${promptLength} tokens leaves no room to generate: the model's context is ${model.contextLength} tokens; shorten the prompt`);
  }
  const opts = { ...options, maxNewTokens: Math.min(options.maxNewTokens, room) };
  return noGrad(() =>
    tidy(() => {
      const b = inputIds.shape[0] as number;
      // every tensor made here goes where the prompt is (the model's device)
      const device = inputIds.device;
      const stops = opts.stopTokenIds ?? [];
      let mask = attentionMask.long();
      const prompt = tidy(() => {
        // a prompt repeated in the batch (the samples of one prompt in GRPO's groups) runs once; its rows share the result
        const { unique, of } = opts.prefill ? { unique: null, of: [] } : distinctRows(inputIds, mask);
        // the cache gets room for every token fed later, written in place (no copy of the whole cache a step)
        const capacity = promptLength + opts.maxNewTokens - 1;
        if (!unique || unique.length === b) {
          const o = opts.prefill ? opts.prefill(inputIds, mask) : model.forward(inputIds, mask, undefined, 1);
          return { cache: o.cache.map((layer) => preallocate(layer, capacity)), last: o.logits.select(1, 0) };
        }
        const [once, spread] = [tensor(unique, { dtype: 'int64', device }), tensor(of, { dtype: 'int64', device })];
        const o = model.forward(inputIds.indexSelect(0, once), mask.indexSelect(0, once), undefined, 1);
        return {
          cache: o.cache.map((layer) => preallocate({ k: layer.k.indexSelect(0, spread), v: layer.v.indexSelect(0, spread) }, capacity)),
          last: o.logits.select(1, 0).indexSelect(0, spread),
        };
      });
      let cache: LayerCache[] = prompt.cache;
      /** (n, V) logits of the rows still decoding, in the order of `rows`. */
      let last = prompt.last;
      /** The batch rows still decoding (the rows of `cache` and `last`), and them as an index tensor once some have stopped. */
      let rows = Array.from({ length: b }, (_, i) => i);
      let rowIndex: Tensor | null = null;
      const tokens: Tensor[] = [];
      const logps: Tensor[] = [];
      const alive: Tensor[] = [];
      let running = ones([b], { dtype: 'bool', device });
      for (let t = 0; t < opts.maxNewTokens; t++) {
        const [index, decoding] = [rowIndex, rows];
        const out = tidy(() => {
          // the rows still decoding (`last`, in the order of `rows`) choose their tokens; every op here works row by row, so
          // their values are those of the whole batch's pass, and the rows that have stopped cost no work but their draws
          let scored = last;
          if (opts.processLogits) {
            // the processor sees the whole (B, V) batch: a stopped row's logits are zeros
            const logits = index ? zeros([b, last.shape[1] as number], { device }).scatter(0, index.unsqueeze(1).expand(last.shape), last) : last;
            const processed = opts.processLogits(logits, t);
            scored = index ? processed.indexSelect(0, index) : processed;
          }
          // only the repetition penalty needs the tokens so far
          const generated = tokens.length && (opts.repetitionPenalty ?? 1) !== 1 ? tidy(() => (index ? cat(tokens, 1).indexSelect(0, index) : cat(tokens, 1))) : null;
          // a stopped row's draw is consumed from the random stream (the batch's), not computed
          const next = opts.greedy ? scored.argmax(1, true) : shapeLogits(scored, generated, opts).softmax(1).multinomialRows(decoding, b);
          const chosen = last.logSoftmax(1).gather(1, next);
          // back to the batch's rows: a stopped row gets the pad and the log-prob -0 (its log-prob times 0, as the whole batch's pass gave)
          const token = index ? full([b, 1], opts.padId, { dtype: 'int64', device }).scatter(0, index.unsqueeze(1), next) : next;
          // (-0.0 is made by negation: an integral number, such as -0, becomes an integer scalar, 0)
          const logp = index ? zeros([b, 1], { device }).neg().scatter(0, index.unsqueeze(1), chosen) : chosen;
          let stopped = running.logicalNot();
          for (const s of stops) stopped = stopped.logicalOr(token.squeeze(1).eq(s));
          return { token, chosen: logp, wasRunning: running.unsqueeze(1).long(), stillRunning: running.logicalAnd(stopped.logicalNot()) };
        });
        tokens.push(out.token);
        logps.push(out.chosen);
        alive.push(out.wasRunning);
        running = out.stillRunning;
        if (!running.any().item() || t === opts.maxNewTokens - 1) break;
        const still = running.toBoolArray();
        if (rows.some((r) => !still[r])) {
          // drop the stopped rows from the cache (compacted in place): later steps run the model on the live rows only
          const keepAt = rows.flatMap((r, i) => (still[r] ? [i] : []));
          const kept = cache.map((layer) => keepCacheRows(layer, keepAt));
          for (const layer of cache) {
            layer.k.dispose();
            layer.v.dispose();
          }
          cache = kept;
          rows = rows.filter((r) => still[r]);
          rowIndex = tensor(rows, { dtype: 'int64', device });
        }
        const live = rowIndex;
        const fed = tidy(() => {
          const m = cat([mask, out.wasRunning], 1);
          const o = live ? model.forward(out.token.indexSelect(0, live), m.indexSelect(0, live), cache) : model.forward(out.token, m, cache);
          return { m, cache: o.cache, last: o.logits.select(1, 0) };
        });
        // the step wrote into the preallocated buffers: the same tensors go on
        for (const [i, layer] of cache.entries()) {
          if (fed.cache[i]?.k === layer.k) continue;
          layer.k.dispose();
          layer.v.dispose();
        }
        mask = fed.m;
        cache = fed.cache;
        last = fed.last;
      }
      const responseMask = cat(alive, 1);
      return {
        sequences: cat([inputIds, cat(tokens, 1)], 1),
        attentionMask: cat([attentionMask.long(), responseMask], 1),
        responseMask,
        logProbs: cat(logps, 1),
      };
    }),
  );
}

/**
 * Log-probability of every next token: position j holds log p(ids[j+1] | ids[..j]).
 * inputIds, attentionMask: (B, L) -> (B, L-1), or with `last` > 0 those of the last `last` tokens only, (B, last): the
 * LM head then runs on those positions alone (a response's tokens, not its prompt's). Differentiable when grad is enabled.
 */
export function sequenceLogProbs(model: CausalLM, inputIds: Tensor, attentionMask: Tensor, last = 0, inputsEmbeds?: Tensor): Tensor {
  const l = inputIds.shape[1] as number;
  const n = last > 0 ? Math.min(last, l - 1) : l - 1;
  const { logits } = model.forward(inputIds, attentionMask, undefined, n + 1, inputsEmbeds);
  const out = nextTokenLogProbs(logits, inputIds.narrow(1, l - n - 1, n + 1));
  // freed when used, as PyTorch's reference counting does, not when the caller's scope ends (the actor's would outlive its backward pass)
  logits.dispose();
  return out;
}

/**
 * log p(token t+1 | ≤ t) from a forward pass's logits over the same K positions as `inputIds`:
 * logits (B, K, V), inputIds (B, K) -> (B, K - 1).
 */
export function nextTokenLogProbs(logits: Tensor, inputIds: Tensor): Tensor {
  const l = inputIds.shape[1] as number;
  const targets = inputIds.narrow(1, 1, l - 1).unsqueeze(2);
  // the (B, L, V) log-softmax is among the largest tensors of an RL step: each intermediate is freed as soon as it is used
  return chain(
    logits,
    (t) => t.narrow(1, 0, l - 1),
    (t) => t.logSoftmax(2),
    (t) => t.gather(2, targets),
    (t) => t.squeeze(2),
  );
}
