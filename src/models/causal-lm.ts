// Causal language models: a family backbone plus an LM head (tied to the embedding or its own).
import { linear, type Tensor } from '../torch/index.js';
import type { LayerCache } from './attention.js';
import { Gpt2Backbone } from './gpt2.js';
import type { Gpt2Config, ModelConfig } from './hf-config.js';
import { LlamaBackbone } from './llama.js';
import type { LlamaConfig } from './hf-config.js';
import { Module } from './module.js';
import type { Backbone, Family, PeftTask } from './types.js';
import { normal } from './param-init.js';

/** Model families by HF model_type. Shared code looks families up here; it never branches on names. */
export const FAMILIES: Record<ModelConfig['model_type'], Family> = {
  gpt2: { prefix: 'transformer', tiedByDefault: true, loraTargets: ['c_attn'], backbone: (c) => new Gpt2Backbone(c as Gpt2Config) },
  llama: { prefix: 'model', tiedByDefault: false, loraTargets: ['q_proj', 'v_proj'], backbone: (c) => new LlamaBackbone(c as LlamaConfig) },
  qwen2: { prefix: 'model', tiedByDefault: false, loraTargets: ['q_proj', 'v_proj'], backbone: (c) => new LlamaBackbone(c as LlamaConfig) },
  mistral: { prefix: 'model', tiedByDefault: false, loraTargets: ['q_proj', 'v_proj'], backbone: (c) => new LlamaBackbone(c as LlamaConfig) },
};

export interface LMOutput {
  /** (B, L, V) next-token logits (of the last `logitsToKeep` positions when forward was given it). */
  logits: Tensor;
  /** (B, L, D) final hidden states (of the last `logitsToKeep` positions when forward was given it). */
  hidden: Tensor;
  cache: LayerCache[];
}

export class CausalLM extends Module {
  readonly backbone: Backbone;
  readonly tied: boolean;
  readonly peftTask: PeftTask = { taskType: 'CAUSAL_LM', modulesToSave: [] };
  private readonly lmHead: Tensor | null;

  constructor(readonly config: ModelConfig) {
    super();
    const family = FAMILIES[config.model_type];
    this.backbone = this.child(family.prefix, family.backbone(config));
    this.tied = config.tie_word_embeddings ?? family.tiedByDefault;
    this.lmHead = this.tied ? null : this.param('lm_head.weight', normal([config.vocab_size, this.backbone.hiddenSize], 0.02));
  }

  /** Longest sequence the model reads (n_positions / max_position_embeddings). */
  get contextLength(): number {
    return this.backbone.contextLength;
  }

  /** HF omits `lm_head.weight` from tied checkpoints but some files carry it: accept and ignore it. */
  get ignorableKeys(): string[] {
    return this.tied ? ['lm_head.weight'] : [];
  }

  /**
   * inputIds: (B, L) int64; attentionMask: (B, Lpast + L); cache from an earlier call. `logitsToKeep` (HF's name): the
   * logits of the last that many positions only, (B, logitsToKeep, V) — a sampler reads only the last one — or all (0).
   * The last layer then runs on those positions alone too (Backbone.forward's keep): the cache still holds every position.
   * inputsEmbeds: (B, L, D) in place of the token lookup (a LLaVA model's spliced image features).
   */
  forward(inputIds: Tensor, attentionMask: Tensor, cache?: LayerCache[], logitsToKeep = 0, inputsEmbeds?: Tensor): LMOutput {
    const { hidden, cache: next } = this.backbone.forward(inputIds, attentionMask, cache, logitsToKeep, inputsEmbeds);
    const logits = linear(hidden, this.lmHead ?? this.backbone.tokenEmbedding);
    return { logits, hidden, cache: next };
  }

  /** A new model with the same config and a copy of the weights. */
  clone(): CausalLM {
    const m = new CausalLM(this.config);
    m.loadStateDict(this.stateDict());
    return m;
  }
}

export function createCausalLM(config: ModelConfig): CausalLM {
  return new CausalLM(config);
}
