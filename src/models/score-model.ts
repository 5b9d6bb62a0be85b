// Score models (reward, cost, critic): a backbone plus a linear head giving per-token and end-of-sequence scores.
import { orderedCutpoints, ordinalLogProbs } from '../losses/ordinal.js';
import { arange, linear, zeros, type Device, type Tensor } from '../torch/index.js';
import { FAMILIES, type CausalLM } from './causal-lm.js';
import type { ModelConfig } from './hf-config.js';
import { Module } from './module.js';
import type { Backbone, PeftTask } from './types.js';
import { normal } from './param-init.js';

export type ScoreType = 'reward' | 'cost' | 'critic';

/**
 * How a score type normalises (DESIGN.md §3): reward affine ((s - mean)/std); cost scale-only
 * (s/std — never shifted, so the safe/unsafe zero survives); critic none.
 */
export const NORMALIZE_KIND: Record<ScoreType, 'affine' | 'scale' | 'none'> = { reward: 'affine', cost: 'scale', critic: 'none' };

/** Running statistics of scores seen in training, saved with the checkpoint. */
export interface ScoreStats {
  count: number;
  mean: number;
  var: number;
}

/** Last index where mask is 1, per row: mask (B, L) -> (B,) int64. */
export function lastTokenIndex(mask: Tensor): Tensor {
  const l = mask.shape[1] as number;
  return mask.float().mul(arange(1, l + 1, 1, { dtype: 'float32', device: mask.device })).argmax(1);
}

/**
 * Anything that gives end-of-sequence scores: a score model, an ensemble view of several, or an
 * exact score table in tests. Reward-model training, evaluation and RL take this.
 */
export interface SequenceScorer {
  /** inputIds, attentionMask: (B, L) -> endScores (B,). */
  forward(inputIds: Tensor, attentionMask: Tensor): { endScores: Tensor };
  /** The same end scores (B,) computed with less work, when the scorer can (a score model's last layer on the rows' ends only). */
  endScores?(inputIds: Tensor, attentionMask: Tensor): Tensor;
  eval(): unknown;
  /** Where its inputs go (a model's parameters' device); the default device when absent. */
  readonly device?: Device;
  /** Longest sequence it reads, when known (a model's n_positions / max_position_embeddings). */
  readonly contextLength?: number;
}

/** scorer's end scores (B,) of inputIds, attentionMask (B, L), by its cheaper endScores when it has one. */
export function endScoresOf(scorer: SequenceScorer, inputIds: Tensor, attentionMask: Tensor): Tensor {
  return scorer.endScores ? scorer.endScores(inputIds, attentionMask) : scorer.forward(inputIds, attentionMask).endScores;
}

/** Name of the ordinal head's free cutpoint parameters in the state dict (K−2 log-gaps; see `orderedCutpoints`). */
export const CUTPOINT_PARAM = 'score_head.cutpoint_log_gaps';

export class ScoreModel extends Module implements SequenceScorer {
  readonly backbone: Backbone;
  private readonly headWeight: Tensor;
  private readonly headBias: Tensor;
  /** Ordinal head: K−2 log-gaps between the cutpoints (K ≥ 3 levels); absent for a plain score. */
  private readonly cutpointLogGaps: Tensor | undefined;
  stats: ScoreStats = { count: 0, mean: 0, var: 1 };
  /** With LoRA the head is trained in full beside the adapters (it may be fresh): peft's modules_to_save. */
  readonly peftTask: PeftTask = { taskType: 'SEQ_CLS', modulesToSave: ['score_head'] };

  /**
   * `ordinalLevels` K ≥ 2 gives the score an ordinal head (a severity classifier: level 0 safe, up to
   * K−1): the one scalar score is cut at K−1 ordered cutpoints, the first at 0, so the score is still a
   * cost (> 0: more likely unsafe than safe); 0 = a plain score.
   */
  constructor(
    readonly config: ModelConfig,
    readonly scoreType: ScoreType,
    readonly ordinalLevels = 0,
  ) {
    super();
    if (ordinalLevels !== 0 && !(Number.isInteger(ordinalLevels) && ordinalLevels >= 2)) throw new RangeError(`ordinal levels: expected 0 (none) or an integer >= 2, got ${ordinalLevels}`);
    const family = FAMILIES[config.model_type];
    this.backbone = this.child(family.prefix, family.backbone(config));
    this.headWeight = this.param('score_head.weight', normal([1, this.backbone.hiddenSize], 1 / Math.sqrt(this.backbone.hiddenSize)));
    this.headBias = this.param('score_head.bias', zeros([1]));
    // gaps start at exp(0) = 1 score unit between levels
    this.cutpointLogGaps = ordinalLevels > 2 ? this.param(CUTPOINT_PARAM, zeros([ordinalLevels - 2])) : undefined;
  }

  /** Longest sequence the model reads (n_positions / max_position_embeddings). */
  get contextLength(): number {
    return this.backbone.contextLength;
  }

  /** A score model whose backbone starts from a causal LM's (the head starts fresh). */
  static fromCausalLM(lm: CausalLM, scoreType: ScoreType, ordinalLevels = 0): ScoreModel {
    const m = new ScoreModel(lm.config, scoreType, ordinalLevels);
    const prefix = FAMILIES[lm.config.model_type].prefix;
    m.backbone.loadStateDict(
      new Map([...lm.backbone.namedParameters()].map(([k, v]) => [k, v])),
      { source: `causal LM (${prefix}.*)` },
    );
    return m;
  }

  /**
   * A copy of another score model (backbone and head), possibly with another score type (critics from
   * reward/cost models) or another ordinal head: the cutpoints are kept when the level count is the
   * same, fresh when it differs; a critic gets no ordinal head.
   */
  static fromScoreModel(other: ScoreModel, scoreType: ScoreType = other.scoreType, ordinalLevels = scoreType === 'critic' ? 0 : other.ordinalLevels): ScoreModel {
    const m = new ScoreModel(other.config, scoreType, ordinalLevels);
    const theirs = other.stateDict();
    const sameHead = ordinalLevels === other.ordinalLevels;
    const weights = Object.entries(m.stateDict()).map(([k, fresh]): [string, Tensor] => [k, k === CUTPOINT_PARAM && !sameHead ? fresh : (theirs[k] ?? fresh)]);
    m.loadStateDict(new Map(weights));
    m.stats = { ...other.stats };
    return m;
  }

  /**
   * inputIds, attentionMask: (B, L). scores: (B, L) raw per-token scores — with 0 < keep < L those of the last `keep`
   * positions only, (B, keep), the last layer running on them alone (Backbone.forward's keep); endScores: (B,) the score
   * at each row's last non-pad token, which must then lie among the kept positions. inputsEmbeds: (B, L, D) in place of the
   * token lookup (image features spliced in).
   */
  forward(inputIds: Tensor, attentionMask: Tensor, keep = 0, inputsEmbeds?: Tensor): { scores: Tensor; endScores: Tensor } {
    const { hidden } = this.backbone.forward(inputIds, attentionMask, undefined, keep, inputsEmbeds);
    const scores = linear(hidden, this.headWeight, this.headBias).squeeze(2);
    const cut = (attentionMask.shape[1] as number) - (scores.shape[1] as number);
    const last = lastTokenIndex(attentionMask);
    if (cut > 0 && last.min().item() < cut) throw new RangeError(`a row ends before the last ${keep} positions kept: its end score was not computed`);
    const endScores = scores.gather(1, (cut > 0 ? last.sub(cut) : last).unsqueeze(1)).squeeze(1);
    return { scores, endScores };
  }

  /** endScores of forward (B,), the last layer computing only the positions from the earliest row end on; inputsEmbeds as forward's. */
  endScores(inputIds: Tensor, attentionMask: Tensor, inputsEmbeds?: Tensor): Tensor {
    const l = attentionMask.shape[1] as number;
    const earliest = lastTokenIndex(attentionMask).min().item();
    return this.forward(inputIds, attentionMask, l - earliest, inputsEmbeds).endScores;
  }

  /** The ordinal head's K−1 ordered cutpoints (the first is 0). Throws for a plain score. */
  cutpoints(): Tensor {
    if (this.ordinalLevels < 2) throw new Error(`this ${this.scoreType} model has no ordinal head (train it with --cost-data severity)`);
    return orderedCutpoints(this.cutpointLogGaps ?? zeros([0], { device: this.device }));
  }

  /** Probabilities of each level from end scores: (B,) -> (B, K). */
  levelProbs(endScores: Tensor): Tensor {
    return ordinalLogProbs(endScores, this.cutpoints()).exp();
  }

  /** Merges a batch of raw scores into the running statistics. */
  updateStats(values: readonly number[]): void {
    if (!values.length) return;
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const m2 = values.reduce((a, b) => a + (b - mean) ** 2, 0);
    const s = this.stats;
    const total = s.count + n;
    const delta = mean - s.mean;
    const m2All = s.var * s.count + m2 + (delta * delta * s.count * n) / total;
    this.stats = { count: total, mean: s.mean + (delta * n) / total, var: m2All / total };
  }

  /** Normalises raw scores by this score type's rule (reward affine, cost scale-only, critic none). */
  normalize(scores: Tensor): Tensor {
    const std = Math.sqrt(this.stats.var) + 1e-8;
    const kind = NORMALIZE_KIND[this.scoreType];
    if (kind === 'affine') return scores.sub(this.stats.mean).div(std);
    if (kind === 'scale') return scores.div(std);
    return scores;
  }
}
