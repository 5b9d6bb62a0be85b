// LLaVA-style image + text model: a vision tower, a 2-layer projector and a causal LM; each image's projected features take the places of its image tokens.
import { cat, chain, embedding, tensor, type Tensor } from '../torch/index.js';
import { HF_ACTIVATIONS } from './activations.js';
import type { LayerCache } from './attention.js';
import { CausalLM, type LMOutput } from './causal-lm.js';
import { generate, type GenerateOptions, type GenerateOutput } from './generate.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { ScoreModel, type ScoreType } from './score-model.js';
import type { Backbone } from './types.js';
import type { LlavaConfig } from './vision-config.js';
import { VisionTower } from './vision.js';

/** Image tokens and images that do not fit each other: says how many of each and what the processor must do. */
export class ImageTokenError extends Error {
  override name = 'ImageTokenError';
}

/** The processor's text side: each image token of `ids` repeated `perImage` times (HF LlavaProcessor expands `<image>` so). */
export function expandImageTokens(ids: readonly number[], imageTokenId: number, perImage: number): number[] {
  return ids.flatMap((t) => (t === imageTokenId ? new Array<number>(perImage).fill(t) : [t]));
}

/** HF LlavaMultiModalProjector: linear_2(act(linear_1(features))), vision width -> text width. */
class Projector extends Module {
  private readonly linear1: Linear;
  private readonly linear2: Linear;
  constructor(
    private readonly config: LlavaConfig,
    dt: number,
  ) {
    super();
    const dv = config.vision_config.hidden_size;
    const opts = { bias: config.multimodal_projector_bias, std: 0.02 };
    this.linear1 = this.child('linear_1', new Linear(dv, dt, 'out-in', opts));
    this.linear2 = this.child('linear_2', new Linear(dt, dt, 'out-in', opts));
  }
  /** features: (N, P, Dv) -> (N, P, Dt) */
  forward(features: Tensor): Tensor {
    return chain(
      features,
      (t) => this.linear1.forward(t),
      HF_ACTIVATIONS[this.config.projector_hidden_act],
      (t) => this.linear2.forward(t),
    );
  }
}

/** What a LLaVA model's language side needs to be: a module with a backbone whose token embedding the images are spliced into. */
type LanguageSide = Module & { readonly backbone: Backbone };

/**
 * The parts every LLaVA-style model shares, under the classic HF names: `vision_tower.*`, `multi_modal_projector.*` and the
 * language side `language_model.*` (a causal LM, or a score model for multimodal reward and cost models).
 */
abstract class LlavaBase<L extends LanguageSide> extends Module {
  readonly visionTower: VisionTower;
  readonly projector: Projector;

  constructor(
    readonly config: LlavaConfig,
    readonly languageModel: L,
  ) {
    super();
    this.visionTower = this.child('vision_tower', new VisionTower(config.vision_config));
    this.projector = this.child('multi_modal_projector', new Projector(config, languageModel.backbone.hiddenSize));
    this.child('language_model', languageModel);
  }

  /** How many image tokens the processor puts in the text per image: the tower's tokens, less the class token under 'default'. */
  get imageTokensPerImage(): number {
    const dropsClass = this.config.vision_feature_select_strategy === 'default' && this.visionTower.hasClassToken;
    return this.visionTower.numTokens - (dropsClass ? 1 : 0);
  }

  get contextLength(): number {
    return this.languageModel.backbone.contextLength;
  }

  /** pixels: (N, C, H, W) -> the tower's states the projector reads (N, P, Dv): hidden state `vision_feature_layer`, class token dropped under 'default'. */
  towerStates(pixels: Tensor): Tensor {
    const p = this.imageTokensPerImage;
    return chain(this.visionTower.hiddenState(pixels, this.config.vision_feature_layer), (t) => t.narrow(1, this.visionTower.numTokens - p, p));
  }

  /** pixels: (N, C, H, W) -> projected features (N, P, Dt). */
  imageFeatures(pixels: Tensor): Tensor {
    return chain(this.towerStates(pixels), (t) => this.projector.forward(t));
  }

  /**
   * Token embeddings (B, L, Dt) with image features written over the image tokens: inputIds (B, L) holds
   * imageTokensPerImage image tokens per image, images in reading order (row by row); pixels: (N, C, H, W).
   */
  embed(inputIds: Tensor, pixels: Tensor): Tensor {
    const states = this.towerStates(pixels);
    const out = this.embedStates(inputIds, states);
    states.dispose();
    return out;
  }

  /**
   * As `embed`, from the tower's states (N, P, Dv) of the images (`towerStates`) rather than their pixels, so states
   * computed once can serve several passes and models with the same tower; only the projector runs here.
   */
  embedStates(inputIds: Tensor, states: Tensor): Tensor {
    const tok = this.config.image_token_index;
    const [b, l] = inputIds.shape as [number, number];
    const ids = inputIds.toNumbers();
    const count = ids.filter((t) => t === tok).length;
    const perImage = this.imageTokensPerImage;
    const images = states.shape[0] as number;
    if (count !== images * perImage) {
      throw new ImageTokenError(
        `${count} image tokens (id ${tok}) in the input but ${images} image(s) x ${perImage} features: ` +
          `the processor must repeat the image token ${perImage} times per image, once for each image given`,
      );
    }
    const text = chain(
      inputIds.maskedFill(inputIds.eq(tok), 0), // the image token may lie outside the vocabulary
      (t) => embedding(this.languageModel.backbone.tokenEmbedding, t),
      (t) => t.reshape([b * l, -1]),
    );
    const features = chain(
      this.projector.forward(states),
      (t) => t.reshape([images * perImage, -1]),
    );
    let next = b * l;
    const rows = tensor(ids.map((t, i) => (t === tok ? next++ : i)), { dtype: 'int64', device: inputIds.device });
    return chain(
      cat([text, features], 0),
      (t) => t.indexSelect(0, rows),
      (t) => t.reshape([b, l, -1]),
    );
  }

  /** Stops the vision tower learning (no gradient, so no optimiser state): `trainableParameters()` leaves it out. */
  freezeVisionTower(): this {
    for (const p of this.visionTower.parameters()) p.requiresGrad_(false);
    return this;
  }

  /** True when no parameter of the vision tower takes a gradient. */
  get visionTowerFrozen(): boolean {
    return this.visionTower.parameters().every((p) => !p.requiresGrad);
  }

  /** The spliced embeddings of inputIds, or undefined (the plain token lookup) without images; image tokens need pixels. */
  protected inputsEmbeds(inputIds: Tensor, pixels: Tensor | null): Tensor | undefined {
    if (pixels) return this.embed(inputIds, pixels);
    if (inputIds.eq(this.config.image_token_index).any().item()) throw new ImageTokenError('the input has image tokens but no pixel values were given');
    return undefined;
  }
}

/** LlavaForConditionalGeneration: the language side is a causal LM. */
export class LlavaModel extends LlavaBase<CausalLM> {
  constructor(config: LlavaConfig) {
    super(config, new CausalLM(config.text_config));
  }

  /** A tied LM head may be stored or not. */
  get ignorableKeys(): string[] {
    return this.languageModel.ignorableKeys.map((k) => `language_model.${k}`);
  }

  /**
   * inputIds: (B, L); attentionMask: (B, Lpast + L); pixels: (N, C, H, W) for the image tokens of inputIds, or null when
   * there are none (text only, or decoding after the prompt with the cache). Returns the language model's output.
   */
  forward(inputIds: Tensor, attentionMask: Tensor, pixels: Tensor | null, cache?: LayerCache[], logitsToKeep = 0): LMOutput {
    const embeds = this.inputsEmbeds(inputIds, pixels);
    const out = this.languageModel.forward(inputIds, attentionMask, cache, logitsToKeep, embeds);
    embeds?.dispose();
    return out;
  }

  /**
   * `generate` on image + text prompts: inputIds (B, L) holding the image tokens, pixels (N, C, H, W) for them (or null);
   * the prompt pass splices the images in, decoding goes on from the KV cache as for text.
   */
  generate(inputIds: Tensor, attentionMask: Tensor, pixels: Tensor | null, options: GenerateOptions): GenerateOutput {
    const prefill = (ids: Tensor, mask: Tensor) => this.forward(ids, mask, pixels, undefined, 1);
    const processLogits = this.banImageToken(options.processLogits);
    return generate(this.languageModel, inputIds, attentionMask, pixels ? { ...options, processLogits, prefill } : { ...options, processLogits });
  }

  /**
   * `processLogits` (if any), then the image token made impossible to sample: a response holding one would need an image to
   * splice there. The log-probs `generate` reports stay those of the model's own distribution.
   */
  banImageToken(processLogits?: GenerateOptions['processLogits']): NonNullable<GenerateOptions['processLogits']> {
    const tok = this.config.image_token_index;
    return (logits, step) => {
      const scored = processLogits ? processLogits(logits, step) : logits;
      const v = scored.shape[1] as number;
      return tok < v ? scored.add(tensor(Array.from({ length: v }, (_, i) => (i === tok ? -Infinity : 0)))) : scored;
    };
  }
}

/**
 * A multimodal reward, cost or critic model: LLaVA's tower and projector in front of a score model (`language_model.<prefix>.*`
 * and `language_model.score_head.*`), so an image + text pair gets per-token and end scores, and a cost model an ordinal
 * severity head, as the text score models do.
 */
export class LlavaScoreModel extends LlavaBase<ScoreModel> {
  constructor(config: LlavaConfig, scoreType: ScoreType, ordinalLevels = 0) {
    super(config, new ScoreModel(config.text_config, scoreType, ordinalLevels));
  }

  /** A score model whose tower, projector and backbone start from a LLaVA model's (the head starts fresh). */
  static fromLlava(lm: LlavaModel, scoreType: ScoreType, ordinalLevels = 0): LlavaScoreModel {
    const m = new LlavaScoreModel(lm.config, scoreType, ordinalLevels);
    const ours = m.namedParameters();
    const theirs = [...lm.namedParameters()].filter(([k]) => ours.has(k));
    const head = [...ours].filter(([k]) => k.startsWith('language_model.score_head.'));
    m.loadStateDict(new Map([...theirs, ...head]), { source: 'LLaVA model' });
    return m;
  }

  /**
   * A copy of another LLaVA score model (tower, projector, backbone, head) as another score type: a critic from a reward or
   * cost model (no ordinal head), as `ScoreModel.fromScoreModel` does for text.
   */
  static fromScoreModel(other: LlavaScoreModel, scoreType: ScoreType): LlavaScoreModel {
    const m = new LlavaScoreModel(other.config, scoreType, scoreType === 'critic' ? 0 : other.languageModel.ordinalLevels);
    const ours = m.namedParameters();
    const text = ScoreModel.fromScoreModel(other.languageModel, scoreType);
    const theirs = new Map([...other.namedParameters()].filter(([k]) => ours.has(k) && !k.startsWith('language_model.')));
    for (const [k, t] of text.namedParameters('language_model.')) theirs.set(k, t);
    m.loadStateDict(theirs, { source: 'LLaVA score model' });
    m.languageModel.stats = { ...other.languageModel.stats };
    return m;
  }

  /**
   * End scores (B,) of inputIds, attentionMask (B, L) given the tower states (N, P, Dv) of their images (`towerStates`), or
   * null without images; the last layer runs on the positions from the earliest row end on (ScoreModel.endScores).
   */
  endScoresFromStates(inputIds: Tensor, attentionMask: Tensor, states: Tensor | null): Tensor {
    const embeds = states ? this.embedStates(inputIds, states) : this.inputsEmbeds(inputIds, null);
    const out = this.languageModel.endScores(inputIds, attentionMask, embeds);
    embeds?.dispose();
    return out;
  }

  /** inputIds, attentionMask: (B, L); pixels: (N, C, H, W) for the image tokens, or null. scores (B, L), endScores (B,). */
  forward(inputIds: Tensor, attentionMask: Tensor, pixels: Tensor | null = null): { scores: Tensor; endScores: Tensor } {
    const embeds = this.inputsEmbeds(inputIds, pixels);
    const out = this.languageModel.forward(inputIds, attentionMask, 0, embeds);
    embeds?.dispose();
    return out;
  }
}

/** A model that reads images: a LLaVA model or LLaVA score model. */
export type ImageReader = LlavaModel | LlavaScoreModel;

export function readsImages(m: unknown): m is ImageReader {
  return m instanceof LlavaModel || m instanceof LlavaScoreModel;
}
