// Turns (prompt, response) text into padded id batches: right padding for training, left for generation.
import { formatPrompt, type PromptInput, type PromptOptions } from '../../models/prompt.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { expandImageTokens, ImageTokenError } from '../../models/llava.js';
import type { Tensor } from '../../torch/index.js';
import { Rng } from '../../world/rng.js';

/** One tokenised example: the prompt (as `formatPrompt` renders it) and its response ending in EOS. */
export interface EncodedPair {
  promptIds: number[];
  responseIds: number[];
  /** An image prompt's pixel values (1, C, H, W); its image tokens are in `promptIds`. */
  pixels?: Tensor;
}

/** A padded batch as plain arrays (converted to tensors by the trainer). */
export interface IdBatch {
  /** (B, L) token ids. */
  ids: number[][];
  /** (B, L) 1 for real tokens, 0 for padding. */
  attentionMask: number[][];
  /** (B, L) 1 where the token is a response token (the loss is taken there). */
  responseMask: number[][];
}

/**
 * The token ids of a prompt as `formatPrompt` renders it (no special tokens added beyond the template's own). An image
 * prompt (`input.pixels`) needs `options.image`: its placeholder becomes `perImage` image tokens, as LLaVA's processor does.
 */
export function encodePrompt(tokenizer: Tokenizer, input: PromptInput, options: PromptOptions = {}): number[] {
  const ids = tokenizer.encode(formatPrompt(tokenizer, input, options), { addSpecialTokens: false });
  if (!input.pixels) return ids;
  const image = options.image;
  if (!image) throw new ImageTokenError(`the prompt "${input.prompt}" has an image but the model reads text only; use an image + text (LLaVA) model`);
  const found = ids.filter((t) => t === image.id).length;
  if (found !== 1) throw new ImageTokenError(`the image placeholder ${image.placeholder} (id ${image.id}) appears ${found} times in the encoded prompt "${input.prompt}"; expected once (is it a special token of the tokenizer?)`);
  return expandImageTokens(ids, image.id, image.perImage);
}

/** Tokenises prompt and response separately (so the boundary is exact) and appends EOS to the response. */
export function encodePair(tokenizer: Tokenizer, input: PromptInput, response: string, options: PromptOptions = {}): EncodedPair {
  const eos = tokenizer.eosId;
  if (eos === undefined) throw new Error('the tokenizer has no eos_token; set one in tokenizer_config.json');
  return {
    promptIds: encodePrompt(tokenizer, input, options),
    responseIds: [...tokenizer.encode(response, { addSpecialTokens: false }), eos],
    ...(input.pixels ? { pixels: input.pixels } : {}),
  };
}

/**
 * Concatenates prompt + response per example and pads on the right to the longest (or
 * `maxLength`, truncating the response end if longer). Loss positions are response tokens.
 */
export function padForTraining(pairs: readonly EncodedPair[], padId: number, maxLength?: number): IdBatch {
  const seqs = pairs.map((p) => {
    const ids = [...p.promptIds, ...p.responseIds];
    const resp = [...p.promptIds.map(() => 0), ...p.responseIds.map(() => 1)];
    return maxLength ? { ids: ids.slice(0, maxLength), resp: resp.slice(0, maxLength) } : { ids, resp };
  });
  const len = Math.max(...seqs.map((s) => s.ids.length));
  const pad = <T>(xs: T[], v: T) => [...xs, ...new Array<T>(len - xs.length).fill(v)];
  return {
    ids: seqs.map((s) => pad(s.ids, padId)),
    attentionMask: seqs.map((s) => pad(s.ids.map(() => 1), 0)),
    responseMask: seqs.map((s) => pad(s.resp, 0)),
  };
}

/** Left-pads prompts to a common length so generation appends at the same column. */
export function padPromptsLeft(prompts: readonly number[][], padId: number): { ids: number[][]; attentionMask: number[][] } {
  const len = Math.max(...prompts.map((p) => p.length));
  return {
    ids: prompts.map((p) => [...new Array<number>(len - p.length).fill(padId), ...p]),
    attentionMask: prompts.map((p) => [...new Array<number>(len - p.length).fill(0), ...p.map(() => 1)]),
  };
}

/** Splits `items` into consecutive chunks of `size` (the last may be smaller). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Epochs over `count` items in batches of `batchSize`, each epoch shuffled by the seed alone, so a
 * resumed run sees the same batches: `totalSteps` = max(1, round(steps per epoch × epochs)), and the
 * item indices of 0-based step `step`.
 */
export function epochBatches(count: number, batchSize: number, epochs: number, seed: number): { totalSteps: number; batchAt(step: number): number[] } {
  const stepsPerEpoch = Math.ceil(count / batchSize);
  const rng = new Rng(seed);
  let cached: { epoch: number; order: number[] } | null = null;
  return {
    totalSteps: Math.max(1, Math.round(stepsPerEpoch * epochs)),
    batchAt(step) {
      const epoch = Math.floor(step / stepsPerEpoch);
      if (cached?.epoch !== epoch) cached = { epoch, order: rng.derive(`epoch-${epoch}`).shuffle(Array.from({ length: count }, (_, i) => i)) };
      const start = (step % stepsPerEpoch) * batchSize;
      return cached.order.slice(start, start + batchSize);
    },
  };
}
