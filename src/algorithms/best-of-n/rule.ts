// Llama 2's safety-aware score for picking among sampled responses (Touvron et al. 2023, §3.2.3), and best-of-N statistics over nested prefixes.
import { z } from 'zod';

/** One sampled response's scores: reward-model score r (helpfulness) and cost-model score c (c > 0: unsafe). */
export interface ScoredCandidate {
  reward: number;
  cost: number;
}

export const ScoreRuleSchema = z
  .object({
    safetyThreshold: z
      .number()
      .min(0)
      .max(1)
      .default(0.15)
      .describe('a response whose safety score σ(−cost) is below this is ranked by safety even on a non-risky prompt (Llama 2: 0.15, i.e. cost > logit(0.85) ≈ 1.73)'),
    riskyPrompts: z
      .enum(['auto', 'cost-model'])
      .default('auto')
      .describe("which prompts are risky (ranked by safety alone): 'auto' = the prompt row's flag (\"kind\": \"risky\"|\"benign\" or \"risky\": true|false) where it has one, else the cost model; 'cost-model' = a prompt is risky when any of its samples scores below safetyThreshold"),
  })
  .strict();
export type ScoreRule = z.output<typeof ScoreRuleSchema>;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** R_s = σ(−c): the safety score in (0, 1), high for a safe response. */
export const safetyScore = (c: ScoredCandidate): number => sigmoid(-c.cost);
/** R_h = σ(r): the helpfulness score in (0, 1), on the same scale as R_s. */
export const helpfulnessScore = (c: ScoredCandidate): number => sigmoid(c.reward);

/**
 * Llama 2's R_c: the safety score when the prompt is risky or the response is unsafe (R_s below
 * `safetyThreshold`), else the helpfulness score. NaN scores (a response no score model could read) give −∞.
 */
export function llama2Score(c: ScoredCandidate, risky: boolean, safetyThreshold: number): number {
  const safety = safetyScore(c);
  const score = risky || safety < safetyThreshold ? safety : helpfulnessScore(c);
  return Number.isNaN(score) ? -Infinity : score;
}

/** Whether the cost model finds the prompt risky: any of its samples has R_s below the threshold. */
export function riskyByCostModel(candidates: readonly ScoredCandidate[], safetyThreshold: number): boolean {
  return candidates.some((c) => safetyScore(c) < safetyThreshold);
}

/** Index of the candidate with the highest R_c (the first on ties); `risky` undefined asks the cost model. */
export function pickBest(candidates: readonly ScoredCandidate[], risky: boolean | undefined, rule: ScoreRule): number {
  const isRisky = rule.riskyPrompts === 'auto' && risky !== undefined ? risky : riskyByCostModel(candidates, rule.safetyThreshold);
  let best = 0;
  let bestScore = -Infinity;
  candidates.forEach((c, i) => {
    const s = llama2Score(c, isRisky, rule.safetyThreshold);
    if (s > bestScore) [best, bestScore] = [i, s];
  });
  return best;
}

function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Best-of-N at one N over prompts, each with ≥ N samples; the first N samples of each prompt are the candidates. */
export interface BestOfNStats {
  n: number;
  /** Index of the picked sample per prompt. */
  picks: number[];
  /** Mean reward-model score of the picked responses (helpfulness). */
  meanReward: number;
  /** Mean cost-model score of the picked responses. */
  meanCost: number;
  /** Share of picked responses with cost > harmThreshold. */
  harmfulRate: number;
  /** Mean over prompts of the median reward of the N samples. */
  medianReward: number;
  /** Mean over prompts of the maximum reward of the N samples (what a reward-only best-of-N would get). */
  maxReward: number;
  /** The analytic KL(best-of-N ‖ sampler) bound log N − (N − 1)/N (Beirami et al. 2024), in nats. */
  klBound: number;
}

/** KL(best-of-N ‖ sampler) <= log N − (N − 1)/N (Beirami et al. 2024), in nats: the analytic bound reported for best-of-N. */
export function bestOfNKl(n: number): number {
  return Math.log(n) - (n - 1) / n;
}

/**
 * Best-of-N with the Llama 2 rule on nested prefixes: for prompt p, candidates are samples[p][0..n).
 * `risky[p]` is the prompt's flag (undefined: ask the cost model).
 */
export function bestOfN(samples: readonly (readonly ScoredCandidate[])[], risky: readonly (boolean | undefined)[], n: number, rule: ScoreRule, harmThreshold = 0): BestOfNStats {
  const mean = (xs: readonly number[]) => {
    const f = xs.filter(Number.isFinite);
    return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
  };
  const picks = samples.map((s, p) => {
    if (s.length < n) throw new RangeError(`bestOfN: prompt ${p} has ${s.length} samples, fewer than N = ${n}`);
    return pickBest(s.slice(0, n), risky[p], rule);
  });
  const picked = picks.map((i, p) => samples[p]?.[i] as ScoredCandidate);
  const scored = picked.filter((c) => Number.isFinite(c.cost));
  return {
    n,
    picks,
    meanReward: mean(picked.map((c) => c.reward)),
    meanCost: mean(picked.map((c) => c.cost)),
    harmfulRate: scored.length ? scored.filter((c) => c.cost > harmThreshold).length / scored.length : NaN,
    medianReward: mean(samples.map((s) => median(s.slice(0, n).map((c) => c.reward)))),
    maxReward: mean(samples.map((s) => Math.max(...s.slice(0, n).map((c) => c.reward).filter(Number.isFinite)))),
    klBound: bestOfNKl(n),
  };
}
