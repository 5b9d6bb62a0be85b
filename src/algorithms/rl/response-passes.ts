// Passes over a rollout's response positions by length bucket: a language model's log-probs (and entropies) of the response tokens, a critic's values.
import { tokenEntropy } from '../../losses/index.js';
import { nextTokenLogProbs, sequenceLogProbs } from '../../models/generate.js';
import { stack, type Tensor } from '../../torch/index.js';
import { languageOf, type CriticModel, type PolicyModel, type RowImages } from './images.js';
import { byPositions, type LengthBucket } from './length-buckets.js';
import { responseSlice } from './rollout.js';

/** A rollout's token batch: sequences, attentionMask (B, L + T) int64, L the padded prompt length, T the response length. */
export interface ResponseBatch {
  sequences: Tensor;
  attentionMask: Tensor;
  promptLength: number;
  responseLength: number;
  /** The rows' images, spliced into a LLaVA model's inputs (absent: text only). */
  images?: RowImages | undefined;
}

/**
 * (B, T) log π(a_t) of the response tokens, and with `withEntropy` (B, T) the entropy of each of those positions'
 * distributions (else null). Each bucket's LM head runs on its response columns only; differentiable when grad is on.
 */
export function responseLogProbs(model: PolicyModel, buckets: readonly LengthBucket[], batch: ResponseBatch, withEntropy = false): { logProbs: Tensor; entropy: Tensor | null } {
  const { sequences: seq, attentionMask: attn, promptLength: L, responseLength: T } = batch;
  const columns = (b: LengthBucket) => b.start + b.width - L;
  const lm = languageOf(model);
  const embeds = (ids: Tensor, b: LengthBucket) => batch.images?.embeds(model, ids, b.rows);
  if (!withEntropy) {
    const logProbs = responseSlice(byPositions(buckets, seq, attn, (ids, m, b) => sequenceLogProbs(lm, ids, m, columns(b), embeds(ids, b)), 1), L, T);
    return { logProbs, entropy: null };
  }
  const both = byPositions(
    buckets,
    seq,
    attn,
    (ids, m, b) => {
      const w = columns(b);
      const l = ids.shape[1] as number;
      const { logits } = lm.forward(ids, m, undefined, w + 1, embeds(ids, b));
      const out = stack([nextTokenLogProbs(logits, ids.narrow(1, l - w - 1, w + 1)), tokenEntropy(logits.narrow(1, 0, w))], 2);
      // the (b, w + 1, V) logits are no longer needed: freed before the backward pass, not when the caller's scope ends
      logits.dispose();
      return out;
    },
    1,
  );
  const r = responseSlice(both, L, T);
  return { logProbs: r.select(2, 0), entropy: r.select(2, 1) };
}

/**
 * (B, T) a critic's per-token scores at the response positions, bucket by bucket, its last layer running on the columns
 * read (from the one before the first response token); differentiable when grad is on.
 */
export function responseValues(critic: CriticModel, buckets: readonly LengthBucket[], batch: ResponseBatch): Tensor {
  const { sequences: seq, attentionMask: attn, promptLength: L, responseLength: T } = batch;
  const columns = (b: LengthBucket) => b.start + b.width - (L - 1);
  const lm = languageOf(critic);
  return responseSlice(byPositions(buckets, seq, attn, (ids, m, b) => lm.forward(ids, m, columns(b), batch.images?.embeds(critic, ids, b.rows)).scores), L, T);
}
