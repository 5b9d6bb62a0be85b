// Text and image + text models behind one interface for the trainers: how an image prompt becomes tokens, and which forward reads a batch.
import type { CausalLM, LMOutput } from '../../models/causal-lm.js';
import { LlavaModel, LlavaScoreModel, readsImages } from '../../models/llava.js';
import type { ImageTokens } from '../../models/prompt.js';
import { ScoreModel, type SequenceScorer } from '../../models/score-model.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { cat, type Tensor } from '../../torch/index.js';
import type { EncodedPair } from './batching.js';

/** A policy the trainers fine-tune: a text causal LM, or a LLaVA-style image + text model. */
export type LanguageModel = CausalLM | LlavaModel;
/** A reward or cost model the score trainer fits: a text score model, or one behind a vision tower and projector. */
export type ScoringModel = ScoreModel | LlavaScoreModel;

/** Image input where the model or the tokenizer cannot take it: says which side lacks what. */
export class ImageInputError extends Error {
  override name = 'ImageInputError';
}

/**
 * How `model` reads an image prompt: the placeholder its text carries (the tokenizer's token for the model's
 * `image_token_index`), repeated once per image feature; undefined for a text-only model.
 */
export function imageTokensOf(model: unknown, tokenizer: Tokenizer): ImageTokens | undefined {
  if (!readsImages(model)) return undefined;
  const id = model.config.image_token_index;
  const placeholder = tokenizer.idToToken(id);
  if (placeholder === undefined) {
    throw new ImageInputError(`the model's image_token_index ${id} is not in the tokenizer's vocabulary (${tokenizer.vocabSize} tokens); add the image placeholder (e.g. <image>) to the tokenizer as a special token with that id`);
  }
  return { placeholder, id, perImage: model.imageTokensPerImage };
}

/** The pixel values (N, C, H, W) of the images of `pairs`, in row order, or null when none has one. */
export function batchPixels(pairs: readonly EncodedPair[]): Tensor | null {
  const images = pairs.flatMap((p) => (p.pixels ? [p.pixels] : []));
  return images.length > 0 ? cat(images, 0) : null;
}

/** The language model's output on a batch: an image + text model splices `pixels` in at its image tokens. */
export function lmForward(model: LanguageModel, inputIds: Tensor, attentionMask: Tensor, pixels: Tensor | null): LMOutput {
  if (model instanceof LlavaModel) return model.forward(inputIds, attentionMask, pixels);
  if (pixels) throw new ImageInputError('the batch has images but the policy reads text only; start from an image + text (LLaVA) model');
  return model.forward(inputIds, attentionMask);
}

/** End scores (B,) of a batch: an image + text score model splices `pixels` in at its image tokens. */
export function scoreForward(model: SequenceScorer, inputIds: Tensor, attentionMask: Tensor, pixels: Tensor | null): Tensor {
  if (model instanceof LlavaScoreModel) return model.forward(inputIds, attentionMask, pixels).endScores;
  if (pixels) throw new ImageInputError('the batch has images but the score model reads text only; start from an image + text (LLaVA) model');
  return model.forward(inputIds, attentionMask).endScores;
}

/** The score model that owns the head (the ordinal levels and cutpoints): the model itself, or an image + text model's language side. */
export function scoreHeadOf(model: ScoringModel): ScoreModel {
  return model instanceof ScoreModel ? model : model.languageModel;
}

/** What LoRA adapts: the language side of an image + text model (its projector, not being a base weight there, trains in full), else the model. */
export function loraTarget<M extends CausalLM | ScoreModel>(model: M | LlavaModel | LlavaScoreModel): M {
  return (readsImages(model) ? model.languageModel : model) as M;
}
