// Image prompts in the RL loop: each row's image (or none), the vision towers' states computed once per rollout per distinct
// frozen tower, and spliced into every pass that reads the prompt (generation, reference, reward, cost, critics, updates).
import { LlavaScoreModel, readsImages, type ImageReader, type LlavaModel } from '../../models/llava.js';
import { endScoresOf, type CausalLM, type ScoreModel, type SequenceScorer } from '../../models/index.js';
import { noGrad, tensor, tidy, type Tensor } from '../../torch/index.js';

/** A policy of the loop (actor, reference): a causal LM, or a LLaVA model whose language side reads the images spliced in. */
export type PolicyModel = CausalLM | LlavaModel;
/** A critic: a text score model, or a LLaVA score model. */
export type CriticModel = ScoreModel | LlavaScoreModel;
/** A reward or cost scorer: any text scorer (one model, an ensemble, a table), or a LLaVA score model. */
export type RlScorer = SequenceScorer | LlavaScoreModel;

export { readsImages, type ImageReader } from '../../models/llava.js';

/** The text side the loop runs: the model itself, or a LLaVA model's language model (its inputs embeddings carry the images). */
export function languageOf(m: PolicyModel): CausalLM;
export function languageOf(m: CriticModel): ScoreModel;
export function languageOf(m: PolicyModel | CriticModel): CausalLM | ScoreModel {
  return readsImages(m) ? m.languageModel : m;
}

/** Equal shapes and bit-equal values of two parameter lists. */
function sameWeights(a: readonly Tensor[], b: readonly Tensor[]): boolean {
  if (a.length !== b.length) return false;
  return noGrad(() => tidy(() => a.every((x, i) => {
    const y = b[i] as Tensor;
    return x.shape.join() === y.shape.join() && x.eq(y).all().item() === 1;
  })));
}

/**
 * Which image readers of a run share their tower's states: those whose towers are frozen, bit-equal and read at the same
 * hidden state with the same tokens per image (a run's models usually all start from one LLaVA folder). Decided once, when
 * the run starts: a frozen tower never changes. A trainable tower shares with nothing (its states need a gradient per pass).
 */
export class TowerSharing {
  private readonly keys = new Map<ImageReader, number>();
  /** One reader per shared key, whose tower computes the key's states. */
  private readonly owners: ImageReader[] = [];

  constructor(models: readonly unknown[]) {
    for (const m of models) {
      if (!readsImages(m) || !m.visionTowerFrozen || this.keys.has(m)) continue;
      const twin = this.owners.findIndex(
        (o) =>
          o.config.vision_feature_layer === m.config.vision_feature_layer &&
          o.imageTokensPerImage === m.imageTokensPerImage &&
          sameWeights(o.visionTower.parameters(), m.visionTower.parameters()),
      );
      if (twin >= 0) this.keys.set(m, twin);
      else {
        this.keys.set(m, this.owners.length);
        this.owners.push(m);
      }
    }
  }

  /** How many distinct frozen towers run per rollout. */
  get distinct(): number {
    return this.owners.length;
  }

  /** The key of `m`'s shared states, or undefined when its tower is trainable (or it was not given when the run started). */
  keyOf(m: ImageReader): number | undefined {
    return this.keys.get(m);
  }

  /** Each shared tower's states (N, P, Dv) of pixels (N, C, H, W), without gradient (freed with the caller's scope). */
  states(pixels: Tensor): Tensor[] {
    return noGrad(() => this.owners.map((o) => o.towerStates(pixels)));
  }
}

/**
 * The images of a batch's rows: pixel values of N images, which image each row shows (-1: none), and the shared towers'
 * states of those images, computed once (`create`) and reused by every pass and every model with the same tower; rows of a
 * mini-batch or a process's share are a `select`ion that shares them (nothing is recomputed).
 */
export class RowImages {
  private constructor(
    private readonly pixels: Tensor,
    /** Row -> index into pixels, or -1 for a text-only row. */
    readonly imageOf: readonly number[],
    private readonly shared: readonly Tensor[],
    private readonly sharing: TowerSharing,
  ) {}

  /** pixels: (N, C, H, W); imageOf: each row's image index (or -1). The shared towers' states are computed here, once. */
  static create(pixels: Tensor, imageOf: readonly number[], sharing: TowerSharing): RowImages {
    const n = pixels.shape[0] as number;
    const bad = imageOf.findIndex((i) => !Number.isInteger(i) || i < -1 || i >= n);
    if (bad >= 0) throw new RangeError(`row ${bad} shows image ${imageOf[bad]}, but there are ${n} images`);
    return new RowImages(pixels, imageOf, sharing.states(pixels), sharing);
  }

  /** Batch rows `rows` of these (in that order), sharing pixels and states. */
  select(rows: readonly number[]): RowImages {
    return new RowImages(this.pixels, rows.map((r) => this.imageOf[r] as number), this.shared, this.sharing);
  }

  /** True when some row has an image. */
  get any(): boolean {
    return this.imageOf.some((i) => i >= 0);
  }

  /**
   * The inputs embeddings of `model` over ids (b, w), which are these rows `rows` (default: all, in order): its token
   * embeddings with the images' features (its projector over the tower's states) written over the image tokens; undefined
   * when none of the rows has an image (the plain token lookup). A model that reads text only may not see an image row.
   */
  embeds(model: unknown, ids: Tensor, rows?: readonly number[]): Tensor | undefined {
    const states = this.states(model, rows);
    if (!states || !readsImages(model)) return undefined;
    const out = model.embedStates(ids, states);
    states.dispose();
    return out;
  }

  /**
   * The tower states (n, P, Dv) that `model` reads for the images of rows `rows` (default all), in row order, or undefined
   * when none has an image: the shared states of its tower when frozen, else its tower run on the pixels (with gradient).
   */
  states(model: unknown, rows: readonly number[] = this.imageOf.map((_, r) => r)): Tensor | undefined {
    const images = rows.map((r) => this.imageOf[r] as number).filter((i) => i >= 0);
    this.requireReader(model, rows);
    if (images.length === 0 || !readsImages(model)) return undefined;
    const index = tensor(images, { dtype: 'int64', device: this.pixels.device });
    const key = this.sharing.keyOf(model);
    return key === undefined ? model.towerStates(this.pixels.indexSelect(0, index)) : (this.shared[key] as Tensor).indexSelect(0, index);
  }

  /** Throws when `model` reads text only and one of rows `rows` (default all) has an image. */
  requireReader(model: unknown, rows: readonly number[] = this.imageOf.map((_, r) => r)): void {
    if (!readsImages(model) && rows.some((r) => (this.imageOf[r] as number) >= 0)) {
      throw new Error('a prompt of the batch has an image, but this model reads text only (give every model of the run as a LLaVA folder)');
    }
  }
}

/** A scorer's end scores (B,) of ids, mask (B, L), which are `images`' rows `rows` (default all): a LLaVA score model reads the images. */
export function scorerEndScores(scorer: RlScorer, ids: Tensor, mask: Tensor, images?: RowImages, rows?: readonly number[]): Tensor {
  if (scorer instanceof LlavaScoreModel) return scorer.endScoresFromStates(ids, mask, images?.states(scorer, rows) ?? null);
  images?.requireReader(scorer, rows);
  return endScoresOf(scorer, ids, mask);
}
