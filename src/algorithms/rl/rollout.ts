// Rollout phase: responses sampled from the actor (or given from outside) with the log-probs PPO's ratio needs.
import { generate, sequenceLogProbs, type GenerateOptions } from '../../models/index.js';
import type { DataParallel } from '../../distributed/data-parallel.js';
import { cat, full, noGrad, tensor, type Tensor } from '../../torch/index.js';
import { padPromptsLeft } from '../common/batching.js';
import type { RlConfig } from './config.js';
import { languageOf, readsImages, type PolicyModel, type RowImages } from './images.js';

/** A batch of B prompts of padded length L and responses of padded length T. */
export interface Rollout {
  /** (B, L + T) int64: left-padded prompt, then the response (pad after its stop token). */
  sequences: Tensor;
  /** (B, L + T) int64: 1 on real tokens. */
  attentionMask: Tensor;
  /** (B, T) float 0/1: response tokens up to and including the stop token. */
  mask: Tensor;
  /** (B, T) log π_old(a_t) of the response tokens under the policy that sampled them, 0 outside the mask. */
  oldLogProbs: Tensor;
  /** L, the padded prompt length. */
  promptLength: number;
  /** Each row's prompt category (per-category constraints); absent = every row ''. */
  categories?: readonly string[];
  /** The rows' prompt images (absent: text only), read by every pass over the rollout. */
  images?: RowImages | undefined;
}

/** Response-aligned slice of per-position outputs x (B, L + T - 1, …): positions L-1 … L+T-2 predict/evaluate response tokens 0 … T-1. */
export function responseSlice(x: Tensor, promptLength: number, responseLength: number): Tensor {
  return x.narrow(1, promptLength - 1, responseLength);
}

/**
 * Samples one response per prompt (token ids, unpadded) from the actor in eval mode, without gradient; `processLogits` as
 * `generate`'s. With `images` (the prompts' rows), the prompt pass splices them in and decoding goes on from the KV cache.
 */
export function sampleRollout(
  actor: PolicyModel,
  prompts: readonly number[][],
  config: Pick<RlConfig, 'maxNewTokens' | 'temperature' | 'topP'>,
  tokens: { padId: number; eosId: number | undefined },
  processLogits?: GenerateOptions['processLogits'],
  images?: RowImages,
): Rollout {
  const padded = padPromptsLeft(prompts, tokens.padId);
  actor.eval();
  const lm = languageOf(actor);
  images?.requireReader(actor);
  const prefill = images?.any ? (ids: Tensor, mask: Tensor) => lm.forward(ids, mask, undefined, 1, images.embeds(actor, ids)) : undefined;
  // a LLaVA actor never samples its image token (a response cannot carry an image)
  const process = readsImages(actor) ? actor.banImageToken(processLogits) : processLogits;
  const gen = noGrad(() =>
    generate(lm, tensor(padded.ids, { dtype: 'int64', device: actor.device }), tensor(padded.attentionMask, { dtype: 'int64', device: actor.device }), {
      maxNewTokens: config.maxNewTokens,
      temperature: config.temperature,
      topP: config.topP,
      stopTokenIds: tokens.eosId === undefined ? [] : [tokens.eosId],
      padId: tokens.padId,
      ...(process ? { processLogits: process } : {}),
      ...(prefill ? { prefill } : {}),
    }),
  );
  const mask = gen.responseMask.float();
  return { sequences: gen.sequences, attentionMask: gen.attentionMask, mask, oldLogProbs: gen.logProbs.mul(mask), promptLength: padded.ids[0]?.length ?? 0, ...(images ? { images } : {}) };
}

/**
 * A rollout given from outside (fixed tokens, e.g. a golden test): old log-probs are the actor's
 * own (eval mode, no gradient). sequences, attentionMask: (B, L + T); mask: (B, T).
 */
export function fixedRollout(actor: PolicyModel, sequences: Tensor, attentionMask: Tensor, mask: Tensor, promptLength: number, images?: RowImages): Rollout {
  actor.eval();
  const t = mask.shape[1] as number;
  const logProbs = noGrad(() => responseSlice(sequenceLogProbs(languageOf(actor), sequences, attentionMask, 0, images?.embeds(actor, sequences)), promptLength, t));
  return { sequences, attentionMask, mask, oldLogProbs: logProbs.mul(mask), promptLength, ...(images ? { images } : {}) };
}

/**
 * The whole batch's rollout from every rank's share (`standIn`: this rank sampled a stand-in row that is left
 * out): prompts left-padded to the longest prompt L, responses right-padded to the longest response T, rows in
 * rank order, as one process sampling the batch would lay them out. The share itself with one process.
 */
export function gatherRollout(job: DataParallel, share: Rollout, padId: number, standIn: boolean): Rollout {
  if (job.worldSize === 1) return share;
  const b = share.mask.shape[0] as number;
  const t = share.mask.shape[1] as number;
  const [L = 0, T = 0] = job.max([share.promptLength, t]);
  const pad = (x: Tensor, left: number, right: number, value: number) => {
    const like = { dtype: x.dtype, device: x.device };
    const parts = [...(left > 0 ? [full([b, left], value, like)] : []), x, ...(right > 0 ? [full([b, right], value, like)] : [])];
    const padded = parts.length > 1 ? cat(parts, 1) : x;
    return job.gatherRows(standIn ? padded.narrow(0, 0, 0) : padded);
  };
  const left = L - share.promptLength;
  return {
    sequences: pad(share.sequences, left, T - t, padId),
    attentionMask: pad(share.attentionMask, left, T - t, 0),
    mask: pad(share.mask, 0, T - t, 0),
    oldLogProbs: pad(share.oldLogProbs, 0, T - t, 0),
    promptLength: L,
  };
}
