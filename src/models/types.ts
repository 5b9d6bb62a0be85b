// The shapes shared by model families: a backbone turns token ids into hidden states (with a KV cache).
import type { Tensor } from '../torch/index.js';
import type { LayerCache } from './attention.js';
import type { ModelConfig } from './hf-config.js';
import type { Module } from './module.js';

export interface BackboneOutput {
  /** (B, L, D) final hidden states of the new positions (of the last `keep` of them when forward was given keep). */
  hidden: Tensor;
  /** Per-layer keys/values over past + new positions. */
  cache: LayerCache[];
}

/** A transformer body without a head; HF names its parameters under `prefix` (e.g. `transformer`, `model`). */
export interface Backbone extends Module {
  readonly config: ModelConfig;
  readonly hiddenSize: number;
  /** Longest sequence (prompt + response, padding included) the model can read: HF n_positions / max_position_embeddings. */
  readonly contextLength: number;
  readonly tokenEmbedding: Tensor;
  /**
   * inputIds: (B, L) new tokens; attentionMask: (B, Lpast + L). `keep` > 0: the hidden states of the last `keep` positions
   * only, (B, keep, D) — the last layer computes its queries, attention output and MLP on those positions alone (every
   * position's keys and values still enter the attention and the cache); 0 = all L. inputsEmbeds (B, L, D), when given,
   * stands for the token lookup of inputIds (HF's inputs_embeds: image features spliced in).
   */
  forward(inputIds: Tensor, attentionMask: Tensor, cache?: LayerCache[], keep?: number, inputsEmbeds?: Tensor): BackboneOutput;
}

/** How a family is put together: the backbone class and the HF name of its module. */
export interface Family {
  prefix: string;
  backbone(config: ModelConfig): Backbone;
  tiedByDefault: boolean;
  /** The projections LoRA adapts when no target modules are given (peft's defaults for the family). */
  loraTargets: readonly string[];
}

/** What peft records about a model's task: its `task_type`, and the modules trained in full beside the adapters (a fresh head). */
export interface PeftTask {
  taskType: 'CAUSAL_LM' | 'SEQ_CLS';
  modulesToSave: readonly string[];
}
