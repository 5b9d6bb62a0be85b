// Logging phase: the per-step record (means of scores, KL, losses, λ) and gold metrics of the responses.
import { textDiversity } from '../../eval/diversity.js';
import { embeddingDiversity, type Embedder } from '../../eval/embedding-diversity.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import type { Tensor } from '../../torch/index.js';
import type { ScoredRollout } from './method.js';
import type { UpdateResult } from './ppo-update.js';
import type { Rollout } from './rollout.js';

/** Per-step log, the source of the report's training curves. */
export interface RlLogRecord {
  step: number;
  reward: number;
  cost?: number;
  kl: number;
  actorLoss: number;
  criticLoss: Record<string, number>;
  responseLength: number;
  lambda?: number;
  jc?: number;
  /** Per-category constraints: λ_k and J_c,k of every category seen so far (J_c,k absent for a category without episodes this step). */
  categories?: Record<string, { lambda: number; jc?: number }>;
  clipFraction: number;
  /** Token mean of the actor's entropy over the update's mini-batches, when rl.entropyCoef > 0. */
  entropy?: number;
  /** Gold metrics of this step's rollouts, when a judge is given (the built-in world). */
  goldHarmfulRate?: number;
  goldHelpfulness?: number;
  /** Diversity of this step's rollouts (rl.diversitySample > 0): distinct-1/2 over all, self-BLEU and pairwise ROUGE-L over a capped sample. */
  distinct1?: number;
  distinct2?: number;
  selfBleu?: number;
  rougeL?: number;
  /** Mean pairwise cosine distance of the rollouts' mean-pooled hidden states under the reference, every rl.embeddingDiversityEvery steps. */
  embeddingDiversity?: number;
}

/** The per-step diversity fields, plotted beside the training curves so that mode collapse shows. */
export const DIVERSITY_CURVES = ['distinct2', 'selfBleu', 'rougeL', 'embeddingDiversity'] as const satisfies readonly (keyof RlLogRecord)[];

/** Scores generated responses with the gold oracle (built-in world) for logging; an image prompt's item names the topic its picture shows. */
export type GoldJudge = (items: { prompt: string; response: string; risky: boolean; imageTopic?: string }[]) => { harmfulRate: number; helpfulness: number };

/** Per-category constraint metrics, given by the constraint phase as `lambda:<category>` and `jc:<category>`; undefined when there are none. */
function categoryMetrics(constraint: Record<string, number>): RlLogRecord['categories'] {
  const out: NonNullable<RlLogRecord['categories']> = {};
  for (const [key, v] of Object.entries(constraint)) {
    const [name, category] = key.split(':', 2) as [string, string | undefined];
    if (category === undefined || (name !== 'lambda' && name !== 'jc')) continue;
    const entry = (out[category] ??= { lambda: NaN });
    if (name === 'lambda') entry.lambda = v;
    else entry.jc = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/** The record of 1-based `step`: batch means of end scores, summed per-sequence KL and length; update means; λ and J_c if the constraint gave them. */
export function stepRecord(step: number, rollout: ScoredRollout, update: UpdateResult, constraint: Record<string, number>): RlLogRecord {
  const categories = categoryMetrics(constraint);
  const lengths = rollout.mask.sum(1).toNumbers();
  return {
    step,
    reward: rollout.reward.mean().item(),
    ...(rollout.cost ? { cost: rollout.cost.mean().item() } : {}),
    kl: rollout.kl.sum(1).mean().item(),
    actorLoss: update.actorLoss,
    criticLoss: update.criticLoss,
    responseLength: lengths.reduce((a, b) => a + b, 0) / lengths.length,
    clipFraction: update.clipFraction,
    ...(update.entropy !== undefined ? { entropy: update.entropy } : {}),
    ...(constraint.lambda !== undefined ? { lambda: constraint.lambda } : {}),
    ...(constraint.jc !== undefined ? { jc: constraint.jc } : {}),
    ...(categories ? { categories } : {}),
  };
}

/** The response texts of a rollout, in row order. */
export function rolloutTexts(tokenizer: Tokenizer, rollout: Rollout): string[] {
  const t = rollout.mask.shape[1] as number;
  return decodeResponses(tokenizer, rollout.sequences.narrow(1, rollout.promptLength, t), rollout.mask);
}

/** Gold harmful rate and helpfulness of a rollout's responses to `prompts` (row order), by the judge (with each image prompt's pictured topic). */
export function goldMetrics(judge: GoldJudge, prompts: readonly { prompt: string; risky: boolean; imageTopic?: string }[], responses: readonly string[]): Pick<RlLogRecord, 'goldHarmfulRate' | 'goldHelpfulness'> {
  const gold = judge(prompts.map((p, i) => ({ prompt: p.prompt, response: responses[i] ?? '', risky: p.risky, ...(p.imageTopic !== undefined ? { imageTopic: p.imageTopic } : {}) })));
  return { goldHarmfulRate: gold.harmfulRate, goldHelpfulness: gold.helpfulness };
}

/**
 * Diversity of a step's responses: distinct-1/2, self-BLEU and pairwise ROUGE-L (over `diversitySample` of
 * them) when that is > 0; the embedding diversity under `embedder` when one is given. Reads no random stream.
 */
export function diversityMetrics(responses: readonly string[], diversitySample: number, embedder?: Embedder): Pick<RlLogRecord, 'distinct1' | 'distinct2' | 'selfBleu' | 'rougeL' | 'embeddingDiversity'> {
  const text = diversitySample > 0 ? textDiversity(responses, diversitySample) : undefined;
  return {
    ...(text ? { distinct1: text.distinct1, distinct2: text.distinct2, selfBleu: text.selfBleu, rougeL: text.rougeL } : {}),
    ...(embedder ? { embeddingDiversity: embeddingDiversity(embedder, responses).diversity } : {}),
  };
}

/** Decodes response tokens (B, T) under their mask to text, dropping EOS and padding. */
export function decodeResponses(tokenizer: Tokenizer, tokens: Tensor, mask: Tensor): string[] {
  const ids = tokens.toNumbers();
  const m = mask.toNumbers();
  const [b, t] = tokens.shape as [number, number];
  const out: string[] = [];
  for (let i = 0; i < b; i++) {
    const row: number[] = [];
    for (let j = 0; j < t; j++) {
      const id = ids[i * t + j] as number;
      if ((m[i * t + j] as number) > 0 && id !== tokenizer.eosId) row.push(id);
    }
    out.push(tokenizer.decode(row, { skipSpecialTokens: true }));
  }
  return out;
}
