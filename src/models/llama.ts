// Llama family (Llama, Qwen2, Mistral, SmolLM): RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention.
import { arange, cat, chain, embedding, ones, type Tensor } from '../torch/index.js';
import { attend, attentionBias, extendCache, lastPositionIds, lastRows, splitHeads, type LayerCache } from './attention.js';
import type { LlamaConfig } from './hf-config.js';
import { Linear } from './linear.js';
import { Container, Module } from './module.js';
import type { Backbone, BackboneOutput } from './types.js';
import { normal } from './param-init.js';

/** nn.Linear: y = x @ Wᵀ + b with W: (out, in). */
function proj(nIn: number, nOut: number, withBias: boolean): Linear {
  return new Linear(nIn, nOut, 'out-in', { bias: withBias, std: 0.02 });
}

class RmsNorm extends Module {
  readonly weight: Tensor;
  constructor(
    dim: number,
    readonly eps: number,
  ) {
    super();
    this.weight = this.param('weight', ones([dim]));
  }
  /** x * rsqrt(mean(x²) + eps) * weight, computed in float32. */
  forward(x: Tensor): Tensor {
    const scale = chain(
      x,
      (t) => t.pow(2),
      (t) => t.mean(-1, true),
      (t) => t.add(this.eps),
      (t) => t.rsqrt(),
    );
    const y = chain(
      x,
      (t) => t.mul(scale),
      (t) => t.mul(this.weight),
    );
    scale.dispose();
    return y;
  }
}

/** Rotates half the dims: HF's rotate_half, used by apply_rotary_pos_emb. x: (B, H, L, hd). */
function rotateHalf(x: Tensor): Tensor {
  const half = (x.shape[3] as number) / 2;
  return cat([x.narrow(3, half, half).neg(), x.narrow(3, 0, half)], 3);
}

class Layer extends Module {
  private readonly q: Linear;
  private readonly k: Linear;
  private readonly v: Linear;
  private readonly o: Linear;
  private readonly gate: Linear;
  private readonly up: Linear;
  private readonly down: Linear;
  private readonly inNorm: RmsNorm;
  private readonly postNorm: RmsNorm;
  constructor(private readonly c: LlamaConfig) {
    super();
    const d = c.hidden_size;
    const heads = c.num_attention_heads;
    const kvHeads = c.num_key_value_heads ?? heads;
    const hd = c.head_dim ?? d / heads;
    const qkvBias = c.attention_bias ?? c.model_type === 'qwen2';
    const attn = this.child('self_attn', new Container());
    this.q = attn.add('q_proj', proj(d, heads * hd, qkvBias));
    this.k = attn.add('k_proj', proj(d, kvHeads * hd, qkvBias));
    this.v = attn.add('v_proj', proj(d, kvHeads * hd, qkvBias));
    this.o = attn.add('o_proj', proj(heads * hd, d, (c.attention_bias ?? false) === true));
    const mlp = this.child('mlp', new Container());
    const mlpBias = c.mlp_bias ?? false;
    this.gate = mlp.add('gate_proj', proj(d, c.intermediate_size, mlpBias));
    this.up = mlp.add('up_proj', proj(d, c.intermediate_size, mlpBias));
    this.down = mlp.add('down_proj', proj(c.intermediate_size, d, mlpBias));
    this.inNorm = this.child('input_layernorm', new RmsNorm(d, c.rms_norm_eps));
    this.postNorm = this.child('post_attention_layernorm', new RmsNorm(d, c.rms_norm_eps));
  }

  /**
   * x: (B, L, D); cos, sin: (B, 1, L, hd); bias: (B, 1, L, Lk). With 0 < keep < L the output is (B, keep, D), of the
   * last `keep` positions (their queries, attention output and MLP alone; every position's keys and values). Intermediates
   * are freed as soon as they are used (chain), so activations do not pile up.
   */
  forward(x: Tensor, cos: Tensor, sin: Tensor, bias: Tensor, past: LayerCache | undefined, keep = 0): { x: Tensor; cache: LayerCache } {
    const heads = this.c.num_attention_heads;
    const kvHeads = this.c.num_key_value_heads ?? heads;
    const h = this.inNorm.forward(x);
    const rope = (angles: { cos: Tensor; sin: Tensor }) => (t: Tensor) => {
      const rotated = chain(
        t,
        rotateHalf,
        (r) => r.mul(angles.sin),
      );
      const out = chain(
        t,
        (u) => u.mul(angles.cos),
        (u) => u.add(rotated),
      );
      rotated.dispose();
      return out;
    };
    const rows = lastRows(keep, x, h, bias);
    const l = x.shape[1] as number;
    const kept = rows.x === x ? { cos, sin } : { cos: cos.narrow(2, l - keep, keep), sin: sin.narrow(2, l - keep, keep) };
    const q = chain(rows.query, (t) => this.q.forward(t), (t) => splitHeads(t, heads), rope(kept));
    if (kept.cos !== cos) for (const angle of [kept.cos, kept.sin]) angle.dispose();
    const kv = extendCache(past, chain(h, (t) => this.k.forward(t), (t) => splitHeads(t, kvHeads), rope({ cos, sin })), splitHeads(this.v.forward(h), kvHeads));
    h.dispose();
    const x2 = chain(
      q,
      (t) => attend(t, kv.k, kv.v, rows.bias),
      (t) => this.o.forward(t),
      (t) => rows.x.add(t),
    );
    q.dispose();
    rows.release();
    const m = this.postNorm.forward(x2);
    const gated = chain(
      m,
      (t) => this.gate.forward(t),
      (t) => t.silu(),
      (t) => t.mul(this.up.forward(m)),
    );
    m.dispose();
    const out = chain(
      gated,
      (t) => this.down.forward(t),
      (t) => x2.add(t),
    );
    gated.dispose();
    x2.dispose();
    return { x: out, cache: kv.cache };
  }
}

/** Llama transformer without the LM head: HF `model.*`. */
export class LlamaBackbone extends Module implements Backbone {
  readonly hiddenSize: number;
  readonly contextLength: number;
  private readonly embed: Tensor;
  private readonly layers: Layer[];
  private readonly norm: RmsNorm;
  private readonly headDim: number;

  constructor(readonly config: LlamaConfig) {
    super();
    this.hiddenSize = config.hidden_size;
    this.contextLength = config.max_position_embeddings;
    this.headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
    this.embed = this.param('embed_tokens.weight', normal([config.vocab_size, config.hidden_size], 0.02));
    const layers = this.child('layers', new Container());
    this.layers = Array.from({ length: config.num_hidden_layers }, (_, i) => layers.add(String(i), new Layer(config)));
    this.norm = this.child('norm', new RmsNorm(config.hidden_size, config.rms_norm_eps));
  }

  get tokenEmbedding(): Tensor {
    return this.embed;
  }

  /** As Gpt2Backbone.forward: hidden (B, L, D), or (B, keep, D) of the last `keep` positions when keep > 0; the updated cache; inputsEmbeds: (B, L, D) in place of the token lookup. */
  forward(inputIds: Tensor, attentionMask: Tensor, cache?: LayerCache[], keep = 0, inputsEmbeds?: Tensor): BackboneOutput {
    const l = inputIds.shape[1] as number;
    const pos = lastPositionIds(attentionMask, l).float(); // (B, L)
    const half = this.headDim / 2;
    const invFreq = arange(0, half, 1, { dtype: 'float32', device: pos.device }).mul((-2 * Math.log(this.config.rope_theta)) / this.headDim).exp(); // (hd/2)
    const freqs = pos.unsqueeze(2).mul(invFreq); // (B, L, hd/2)
    const emb = cat([freqs, freqs], 2).unsqueeze(1); // (B, 1, L, hd)
    const cos = emb.cos();
    const sin = emb.sin();
    const bias = attentionBias(attentionMask, l);
    const next: LayerCache[] = [];
    const embeds = inputsEmbeds ?? embedding(this.embed, inputIds);
    const hidden = chain(
      embeds,
      ...this.layers.map((layer, i) => (t: Tensor) => {
        const out = layer.forward(t, cos, sin, bias, cache?.[i], i === this.layers.length - 1 ? keep : 0);
        next.push(out.cache);
        return out.x;
      }),
      (t) => this.norm.forward(t),
    );
    if (embeds !== inputsEmbeds) embeds.dispose();
    return { hidden, cache: next };
  }
}
