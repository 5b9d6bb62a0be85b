// MiCRo's model: K reward heads and a context router (softmax over the heads, read at the prompt's last token) on one backbone.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../core/fs-atomic.js';
import { FAMILIES, type CausalLM } from '../../models/causal-lm.js';
import { parseModelConfig, type ModelConfig } from '../../models/hf-config.js';
import { Module } from '../../models/module.js';
import { normal } from '../../models/param-init.js';
import { lastTokenIndex, ScoreModel } from '../../models/score-model.js';
import { loadStateDict, saveStateDict } from '../../models/state-dict.js';
import type { Backbone } from '../../models/types.js';
import { linear, zeros, type Tensor } from '../../torch/index.js';
import { readFileSync } from 'node:fs';

/** config.json key holding the number of heads (HF ignores unknown keys). */
const HEADS_KEY = 'safealign_micro_heads';

export class MixtureScoreModel extends Module {
  readonly backbone: Backbone;
  private readonly headWeight: Tensor;
  private readonly headBias: Tensor;
  private readonly routerWeight: Tensor;
  private readonly routerBias: Tensor;

  constructor(
    readonly config: ModelConfig,
    readonly heads: number,
  ) {
    super();
    const family = FAMILIES[config.model_type];
    this.backbone = this.child(family.prefix, family.backbone(config));
    const h = this.backbone.hiddenSize;
    this.headWeight = this.param('heads.weight', normal([heads, h], 1 / Math.sqrt(h)));
    this.headBias = this.param('heads.bias', zeros([heads]));
    this.routerWeight = this.param('router.weight', normal([heads, h], 0.1 / Math.sqrt(h)));
    this.routerBias = this.param('router.bias', zeros([heads]));
  }

  /** A mixture whose backbone starts from a causal LM's or a score model's (heads and router start fresh). */
  static fromBackbone(source: CausalLM | ScoreModel, heads: number): MixtureScoreModel {
    const m = new MixtureScoreModel(source.config, heads);
    m.backbone.loadStateDict(new Map([...source.backbone.namedParameters()]), { source: `${source instanceof ScoreModel ? 'score model' : 'causal LM'} backbone` });
    return m;
  }

  get contextLength(): number {
    return this.backbone.contextLength;
  }

  /**
   * inputIds, attentionMask: (B, L); promptLast: (B,) int64 index of each row's last prompt token.
   * endScores: (B, K) every head's score at the last real token; routerLogits: (B, K) read at the
   * prompt's last token, which a causal backbone computes from the prompt alone.
   */
  forward(inputIds: Tensor, attentionMask: Tensor, promptLast: Tensor): { endScores: Tensor; routerLogits: Tensor } {
    const { hidden } = this.backbone.forward(inputIds, attentionMask);
    const h = hidden.shape[2] as number;
    const at = (index: Tensor) => hidden.gather(1, index.view([-1, 1, 1]).expand([-1, 1, h])).squeeze(1);
    return {
      endScores: linear(at(lastTokenIndex(attentionMask)), this.headWeight, this.headBias),
      routerLogits: linear(at(promptLast), this.routerWeight, this.routerBias),
    };
  }
}

/** Writes config.json (with the head count) and model.safetensors (+ the training config) to `dir`. */
export function saveMixture(dir: string, model: MixtureScoreModel, trainingConfig?: unknown): void {
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(join(dir, 'config.json'), { ...model.config, [HEADS_KEY]: model.heads });
  saveStateDict(dir, model.stateDict());
  if (trainingConfig !== undefined) writeJsonAtomic(join(dir, 'safealign_config.json'), trainingConfig);
}

/** Reads a mixture written by `saveMixture`. */
export function loadMixture(dir: string): MixtureScoreModel {
  const path = join(dir, 'config.json');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const heads = raw[HEADS_KEY];
  if (typeof heads !== 'number') throw new Error(`${path}: no ${HEADS_KEY}; is this a folder written by safealign train micro?`);
  const model = new MixtureScoreModel(parseModelConfig(raw, path), heads);
  const weights = loadStateDict(dir);
  model.loadStateDict(weights, { source: dir });
  for (const t of weights.values()) t.dispose();
  return model;
}
