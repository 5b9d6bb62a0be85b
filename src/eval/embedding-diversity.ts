// Embedding diversity of responses: each text read alone by a model's backbone, its last hidden states mean-pooled, then the mean pairwise cosine distance.
import { chunks } from '../algorithms/common/batching.js';
import type { Backbone, Tokenizer } from '../models/index.js';
import { cat, noGrad, tensor, tidy, type Tensor } from '../torch/index.js';
import { meanCosineDistance, meanPool } from './diversity.js';

/** The model whose hidden states embed responses (a causal LM's or a score model's backbone) and the tokenizer of its folder. */
export interface Embedder {
  model: { backbone: Backbone };
  tokenizer: Tokenizer;
}

/** Embedding diversity of a set of responses, and how many were cut to the embedder's context. */
export interface EmbeddingDiversity {
  /** Mean over response pairs of 1 − cos of their mean-pooled last hidden states (higher = more diverse). */
  diversity: number;
  /** Responses longer than the embedder's context, read up to it. */
  truncated: number;
}

/**
 * (N, D) float64: each text's tokens (no special tokens; cut to the embedder's context, counted) through
 * the backbone in eval mode without gradient (no dropout, so no random draw), last hidden states averaged
 * over the text's tokens; an empty text gives a row of zeros. Batches of `batchSize`, right-padded.
 */
export function embedTexts(embedder: Embedder, texts: readonly string[], batchSize = 32): { embeddings: Tensor; truncated: number } {
  const { backbone } = embedder.model;
  const context = backbone.contextLength;
  let truncated = 0;
  const ids = texts.map((t) => {
    const all = embedder.tokenizer.encode(t, { addSpecialTokens: false });
    if (all.length > context) truncated++;
    return all.slice(0, context);
  });
  const device = backbone.device;
  const wasTraining = backbone.training;
  backbone.eval();
  try {
    const parts = chunks(ids, batchSize).map((batch) =>
      tidy(() => {
        const width = Math.max(1, ...batch.map((r) => r.length));
        const padded = batch.map((r) => [...r, ...new Array<number>(width - r.length).fill(0)]);
        const mask = batch.map((r) => [...new Array<number>(r.length).fill(1), ...new Array<number>(width - r.length).fill(0)]);
        const m = tensor(mask, { dtype: 'int64', device });
        const { hidden } = noGrad(() => backbone.forward(tensor(padded, { dtype: 'int64', device }), m));
        return meanPool(hidden, m).to('float64');
      }),
    );
    const embeddings = parts.length ? cat(parts, 0) : tensor([], { dtype: 'float64' }).reshape([0, backbone.hiddenSize]);
    for (const p of parts) p.dispose();
    return { embeddings, truncated };
  } finally {
    backbone.train(wasTraining);
  }
}

/** The mean pairwise cosine distance of `texts`' mean-pooled hidden states under `embedder` (see `embedTexts`). */
export function embeddingDiversity(embedder: Embedder, texts: readonly string[], batchSize = 32): EmbeddingDiversity {
  const { embeddings, truncated } = embedTexts(embedder, texts, batchSize);
  try {
    return { diversity: meanCosineDistance(embeddings), truncated };
  } finally {
    embeddings.dispose();
  }
}
