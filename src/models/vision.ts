// CLIP and SigLIP vision transformers with HF parameter names (CLIPVisionModel / SiglipVisionModel: `vision_model.*`).
import { cat, chain, linear, zeros, type Tensor } from '../torch/index.js';
import { HF_ACTIVATIONS } from './activations.js';
import { attend, splitHeads } from './attention.js';
import { LayerNorm } from './layer-norm.js';
import { Linear } from './linear.js';
import { Container, Module } from './module.js';
import { normal } from './param-init.js';
import type { VisionConfig } from './vision-config.js';

/** What tells the towers apart, as structure (shared code never branches on the model type). */
interface TowerShape {
  /** A learned class token is prepended to the patches (and gets a position). */
  classToken: boolean;
  /** `pre_layrnorm` (HF's spelling) over the embeddings before the first layer. */
  preNorm: boolean;
  /** The patch convolution has a bias. */
  patchBias: boolean;
  /** post_layernorm applies to every token of last_hidden_state (SigLIP), not only to the pooled class token (CLIP). */
  normEveryToken: boolean;
}

const TOWER_SHAPES: Record<VisionConfig['model_type'], TowerShape> = {
  clip_vision_model: { classToken: true, preNorm: true, patchBias: false, normEveryToken: false },
  siglip_vision_model: { classToken: false, preNorm: false, patchBias: true, normEveryToken: true },
};

/** nn.Linear: weight (out, in). */
function proj(nIn: number, nOut: number): Linear {
  return new Linear(nIn, nOut, 'out-in', { bias: true, std: 0.02 });
}

/** Conv2d(C, D, kernel = stride = p) as a matmul over flattened patches; its weight keeps HF's (D, C, p, p) layout. */
class PatchEmbedding extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly channels: number,
    readonly dim: number,
    readonly patch: number,
    withBias: boolean,
  ) {
    super();
    this.weight = this.param('weight', normal([dim, channels, patch, patch], 0.02));
    this.bias = withBias ? this.param('bias', zeros([dim])) : null;
  }

  /** pixels: (B, C, H, W) -> (B, (H/p)·(W/p), D), patches in row-major order as conv + flatten(2) gives them. */
  forward(pixels: Tensor): Tensor {
    const [b, c, h, w] = pixels.shape as [number, number, number, number];
    const p = this.patch;
    const patches = pixels
      .reshape([b, c, h / p, p, w / p, p])
      .permute([0, 2, 4, 1, 3, 5])
      .reshape([b, (h / p) * (w / p), c * p * p]);
    const out = linear(patches, this.weight.reshape([this.dim, c * p * p]), this.bias);
    patches.dispose();
    return out;
  }
}

class Embeddings extends Module {
  private readonly patches: PatchEmbedding;
  private readonly classEmbedding: Tensor | null;
  private readonly positions: Tensor;
  constructor(c: VisionConfig, shape: TowerShape) {
    super();
    const d = c.hidden_size;
    const n = (c.image_size / c.patch_size) ** 2 + (shape.classToken ? 1 : 0);
    this.patches = this.child('patch_embedding', new PatchEmbedding(c.num_channels, d, c.patch_size, shape.patchBias));
    this.classEmbedding = shape.classToken ? this.param('class_embedding', normal([d], 0.02)) : null;
    this.positions = this.param('position_embedding.weight', normal([n, d], 0.02));
  }

  /** pixels: (B, C, H, W) -> (B, N, D): [class token,] patches, plus position embeddings. */
  forward(pixels: Tensor): Tensor {
    const b = pixels.shape[0] as number;
    const cls = this.classEmbedding;
    return chain(
      this.patches.forward(pixels),
      (t) => (cls ? cat([cls.reshape([1, 1, -1]).expand([b, 1, cls.shape[0] as number]), t], 1) : t),
      (t) => t.add(this.positions),
    );
  }
}

class EncoderLayer extends Module {
  private readonly ln1: LayerNorm;
  private readonly q: Linear;
  private readonly k: Linear;
  private readonly v: Linear;
  private readonly out: Linear;
  private readonly ln2: LayerNorm;
  private readonly fc1: Linear;
  private readonly fc2: Linear;
  constructor(private readonly c: VisionConfig) {
    super();
    const d = c.hidden_size;
    this.ln1 = this.child('layer_norm1', new LayerNorm(d, c.layer_norm_eps));
    const attn = this.child('self_attn', new Container());
    this.q = attn.add('q_proj', proj(d, d));
    this.k = attn.add('k_proj', proj(d, d));
    this.v = attn.add('v_proj', proj(d, d));
    this.out = attn.add('out_proj', proj(d, d));
    this.ln2 = this.child('layer_norm2', new LayerNorm(d, c.layer_norm_eps));
    const mlp = this.child('mlp', new Container());
    this.fc1 = mlp.add('fc1', proj(d, c.intermediate_size));
    this.fc2 = mlp.add('fc2', proj(c.intermediate_size, d));
  }

  /** x: (B, N, D) -> (B, N, D); pre-LN attention over all tokens (no mask), then the pre-LN MLP. */
  forward(x: Tensor): Tensor {
    const heads = this.c.num_attention_heads;
    const h = this.ln1.forward(x);
    const q = splitHeads(this.q.forward(h), heads);
    const k = splitHeads(this.k.forward(h), heads);
    const v = splitHeads(this.v.forward(h), heads);
    h.dispose();
    const x2 = chain(
      q,
      (t) => attend(t, k, v, null),
      (t) => this.out.forward(t),
      (t) => x.add(t),
    );
    for (const t of [q, k, v]) t.dispose();
    const out = chain(
      x2,
      (t) => this.ln2.forward(t),
      (t) => this.fc1.forward(t),
      HF_ACTIVATIONS[this.c.hidden_act],
      (t) => this.fc2.forward(t),
      (t) => x2.add(t),
    );
    x2.dispose();
    return out;
  }
}

export interface VisionOutput {
  /** (B, N, D): CLIP's encoder output; SigLIP's after post_layernorm. */
  lastHidden: Tensor;
  /** (B, D): CLIP's post_layernorm(class token); null for SigLIP (its pooling head is not run). */
  pooled: Tensor | null;
}

/** HF `vision_model`: embeddings, [pre_layrnorm,] encoder.layers.*, post_layernorm. */
class VisionTransformer extends Module {
  private readonly embeddings: Embeddings;
  private readonly preNorm: LayerNorm | null;
  private readonly layers: EncoderLayer[];
  private readonly postNorm: LayerNorm;
  constructor(
    readonly config: VisionConfig,
    private readonly shape: TowerShape,
  ) {
    super();
    const d = config.hidden_size;
    this.embeddings = this.child('embeddings', new Embeddings(config, shape));
    this.preNorm = shape.preNorm ? this.child('pre_layrnorm', new LayerNorm(d, config.layer_norm_eps)) : null;
    const layers = this.child('encoder', new Container()).add('layers', new Container());
    this.layers = Array.from({ length: config.num_hidden_layers }, (_, i) => layers.add(String(i), new EncoderLayer(config)));
    this.postNorm = this.child('post_layernorm', new LayerNorm(d, config.layer_norm_eps));
  }

  /** HF hidden_states[index] (0 = the embedding output, n = layer n's output; negative counts from the end): (B, N, D). */
  hiddenState(pixels: Tensor, index: number): Tensor {
    const n = this.layers.length;
    const upTo = index < 0 ? n + 1 + index : index;
    if (upTo < 0 || upTo > n) throw new RangeError(`hidden state ${index} does not exist: the tower has ${n} layers (${-(n + 1)}..${n})`);
    const c = this.config;
    const [b, ch, h, w] = pixels.shape;
    if (pixels.ndim !== 4 || ch !== c.num_channels || h !== c.image_size || w !== c.image_size) {
      throw new RangeError(`pixel values of shape [${pixels.shape}]; the tower expects (B, ${c.num_channels}, ${c.image_size}, ${c.image_size}) (B = ${b ?? '?'} images)`);
    }
    return chain(
      this.embeddings.forward(pixels),
      (t) => (this.preNorm ? this.preNorm.forward(t) : t),
      ...this.layers.slice(0, upTo).map((layer) => (t: Tensor) => layer.forward(t)),
    );
  }

  forward(pixels: Tensor): VisionOutput {
    const last = this.hiddenState(pixels, -1);
    if (this.shape.normEveryToken) {
      const lastHidden = this.postNorm.forward(last);
      last.dispose();
      return { lastHidden, pooled: null };
    }
    return { lastHidden: last, pooled: this.postNorm.forward(last.select(1, 0)) };
  }
}

/** A CLIPVisionModel / SiglipVisionModel: parameters named `vision_model.*`. pixels: (B, C, image_size, image_size) float. */
export class VisionTower extends Module {
  private readonly model: VisionTransformer;
  constructor(readonly config: VisionConfig) {
    super();
    this.model = this.child('vision_model', new VisionTransformer(config, TOWER_SHAPES[config.model_type]));
  }

  /** Tokens the tower yields per image, (image_size / patch_size)² patches plus the class token if it has one. */
  get numTokens(): number {
    return (this.config.image_size / this.config.patch_size) ** 2 + (TOWER_SHAPES[this.config.model_type].classToken ? 1 : 0);
  }

  get hasClassToken(): boolean {
    return TOWER_SHAPES[this.config.model_type].classToken;
  }

  /** HF hidden_states[index]: (B, N, D). */
  hiddenState(pixels: Tensor, index: number): Tensor {
    return this.model.hiddenState(pixels, index);
  }

  forward(pixels: Tensor): VisionOutput {
    return this.model.forward(pixels);
  }
}

/** Checkpoint weights a tower does not run (SigLIP's attention-pooling head, `vision_model.head.*`): skipped on load. */
export function isUnusedTowerWeight(name: string): boolean {
  return /(^|\.)vision_model\.head\./.test(name);
}
