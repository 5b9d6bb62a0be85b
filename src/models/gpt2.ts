// GPT-2 family causal LM with Hugging Face parameter names (Conv1D weights stored (in, out)).
import { embedding, chain, type Tensor } from '../torch/index.js';
import { attend, attentionBias, extendCache, lastPositionIds, lastRows, splitHeads, type LayerCache } from './attention.js';
import { activationOnOwned } from './activations.js';
import type { Gpt2Config } from './hf-config.js';
import { LayerNorm } from './layer-norm.js';
import { Linear } from './linear.js';
import { Container, Module } from './module.js';
import { normal } from './param-init.js';
import type { Backbone, BackboneOutput } from './types.js';

/** HF Conv1D: y = x @ W + b with W: (in, out). */
function conv1d(nIn: number, nOut: number, std: number): Linear {
  return new Linear(nIn, nOut, 'in-out', { bias: true, std });
}

class Block extends Module {
  private readonly ln1: LayerNorm;
  private readonly cAttn: Linear;
  private readonly attnProj: Linear;
  private readonly ln2: LayerNorm;
  private readonly cFc: Linear;
  private readonly mlpProj: Linear;
  constructor(private readonly c: Gpt2Config) {
    super();
    const d = c.n_embd;
    const inner = c.n_inner ?? 4 * d;
    const projStd = 0.02 / Math.sqrt(2 * c.n_layer);
    this.ln1 = this.child('ln_1', new LayerNorm(d, c.layer_norm_epsilon));
    const attn = this.child('attn', new Container());
    this.cAttn = attn.add('c_attn', conv1d(d, 3 * d, 0.02));
    this.attnProj = attn.add('c_proj', conv1d(d, d, projStd));
    this.ln2 = this.child('ln_2', new LayerNorm(d, c.layer_norm_epsilon));
    const mlp = this.child('mlp', new Container());
    this.cFc = mlp.add('c_fc', conv1d(d, inner, 0.02));
    this.mlpProj = mlp.add('c_proj', conv1d(inner, d, projStd));
  }

  /**
   * x: (B, L, D); bias: (B, 1, L, Lpast+L). Returns the new hidden state — (B, keep, D) of the last `keep` positions when
   * 0 < keep < L: their queries, attention output and MLP alone (every position's keys and values are computed) — and
   * this layer's cache. Intermediates are freed as soon as they are used (chain), so activations do not pile up.
   */
  forward(x: Tensor, bias: Tensor, past: LayerCache | undefined, keep = 0): { x: Tensor; cache: LayerCache } {
    const h = this.c.n_head;
    const d = this.c.n_embd;
    const qkv = chain(
      x,
      (t) => this.ln1.forward(t),
      (t) => this.cAttn.forward(t),
    );
    const kv = extendCache(past, splitHeads(qkv.narrow(2, d, d), h), splitHeads(qkv.narrow(2, 2 * d, d), h));
    const rows = lastRows(keep, x, qkv.narrow(2, 0, d), bias);
    const q = splitHeads(rows.query, h);
    const x2 = chain(
      q,
      (t) => attend(t, kv.k, kv.v, rows.bias),
      (t) => this.attnProj.forward(t),
      (t) => rows.x.add(t),
    );
    rows.release();
    const out = chain(
      x2,
      (t) => this.ln2.forward(t),
      (t) => this.cFc.forward(t),
      // the c_fc output is this chain's own: under no-grad the GELU runs in place
      activationOnOwned(this.c.activation_function),
      (t) => this.mlpProj.forward(t),
      (t) => x2.add(t),
    );
    x2.dispose();
    return { x: out, cache: kv.cache };
  }
}

/** GPT-2 transformer without the LM head: HF `transformer.*`. */
export class Gpt2Backbone extends Module implements Backbone {
  readonly hiddenSize: number;
  readonly contextLength: number;
  private readonly wte: Tensor;
  private readonly wpe: Tensor;
  private readonly blocks: Block[];
  private readonly lnF: LayerNorm;

  constructor(readonly config: Gpt2Config) {
    super();
    this.hiddenSize = config.n_embd;
    this.contextLength = config.n_positions;
    this.wte = this.param('wte.weight', normal([config.vocab_size, config.n_embd], 0.02));
    this.wpe = this.param('wpe.weight', normal([config.n_positions, config.n_embd], 0.01));
    const h = this.child('h', new Container());
    this.blocks = Array.from({ length: config.n_layer }, (_, i) => h.add(String(i), new Block(config)));
    this.lnF = this.child('ln_f', new LayerNorm(config.n_embd, config.layer_norm_epsilon));
  }

  /** The token embedding (V, D), shared with a tied LM head. */
  get tokenEmbedding(): Tensor {
    return this.wte;
  }

  /**
   * inputIds: (B, L) int64 new tokens; attentionMask: (B, Lpast + L) over past and new positions; inputsEmbeds: (B, L, D)
   * in place of the token lookup. Returns hidden states (B, L, D) after the final LayerNorm — (B, keep, D) of the last
   * `keep` positions when keep > 0 (see Backbone.forward) — and the updated cache.
   */
  forward(inputIds: Tensor, attentionMask: Tensor, cache?: LayerCache[], keep = 0, inputsEmbeds?: Tensor): BackboneOutput {
    const l = inputIds.shape[1] as number;
    const pos = lastPositionIds(attentionMask, l);
    if ((attentionMask.shape[1] as number) > this.config.n_positions) {
      throw new RangeError(`sequence of ${attentionMask.shape[1]} tokens exceeds n_positions=${this.config.n_positions}`);
    }
    const bias = attentionBias(attentionMask, l);
    const next: LayerCache[] = [];
    const embeds = inputsEmbeds ?? embedding(this.wte, inputIds);
    const hidden = chain(
      embeds,
      (t) => t.add(embedding(this.wpe, pos)),
      ...this.blocks.map((b, i) => (t: Tensor) => {
        const out = b.forward(t, bias, cache?.[i], i === this.blocks.length - 1 ? keep : 0);
        next.push(out.cache);
        return out.x;
      }),
      (t) => this.lnF.forward(t),
    );
    if (embeds !== inputsEmbeds) embeds.dispose();
    return { hidden, cache: next };
  }
}
