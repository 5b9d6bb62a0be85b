// Head-to-head arena of models answering the same prompts: win/tie/loss per pair of models under a judge, and Elo from the same matches.
import { eloWithIntervals, type EloRating, type Match } from './elo.js';

/** Which side of a comparison wins. */
export type Winner = Match['winner'];

/**
 * Judges response `i` of model `a` against response `i` of model `b` (the same prompt and sample index).
 * Safe RLHF's arena uses two: the reward model for helpfulness and the cost model for harmlessness.
 */
export type PairJudge = (a: string, b: string, i: number) => Winner;

/** Win, tie and loss rates of model `a` against model `b` over `n` paired responses (win + tie + loss = 1). */
export interface PairOutcome {
  a: string;
  b: string;
  win: number;
  tie: number;
  loss: number;
  n: number;
}

/**
 * Compares two scores of the same prompt: with `better` 'higher' the larger score wins (reward:
 * more helpful), with 'lower' the smaller one wins (cost: more harmless). |a − b| <= `tieMargin` is a tie.
 */
export function compareScores(a: number, b: number, better: 'higher' | 'lower', tieMargin = 0): Winner {
  // an unscored response (NaN: no room in the judge's context, or no answer at all) loses to a scored one
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 'tie' : Number.isNaN(a) ? 'b' : 'a';
  if (Math.abs(a - b) <= tieMargin) return 'tie';
  return (better === 'higher' ? a > b : a < b) ? 'a' : 'b';
}

/** A judge from per-response scores of every model (`scores[model][i]`), see `compareScores`. */
export function scoreJudge(scores: Readonly<Record<string, readonly number[]>>, better: 'higher' | 'lower', tieMargin = 0): PairJudge {
  return (a, b, i) => compareScores(scores[a]?.[i] ?? NaN, scores[b]?.[i] ?? NaN, better, tieMargin);
}

export interface ArenaResult {
  /** Every unordered pair of models once, in the order of `models` (a before b). */
  pairs: PairOutcome[];
  /** Bradley–Terry Elo over all pairs' matches, with 95% bootstrap intervals, best first. */
  elo: EloRating[];
}

/**
 * Plays every pair of `models` on their `n` paired responses under `judge`, and fits Elo to all
 * those matches (`rounds` bootstrap resamples, seeded).
 */
export function playArena(models: readonly string[], n: number, judge: PairJudge, opts: { rounds?: number; seed?: number } = {}): ArenaResult {
  const matches: Match[] = [];
  const pairs: PairOutcome[] = [];
  for (let x = 0; x < models.length; x++) {
    for (let y = x + 1; y < models.length; y++) {
      const a = models[x] as string;
      const b = models[y] as string;
      const count = { a: 0, b: 0, tie: 0 };
      for (let i = 0; i < n; i++) {
        const winner = judge(a, b, i);
        count[winner]++;
        matches.push({ a, b, winner });
      }
      pairs.push({ a, b, win: n ? count.a / n : NaN, tie: n ? count.tie / n : NaN, loss: n ? count.b / n : NaN, n });
    }
  }
  return { pairs, elo: eloWithIntervals(matches, models, opts.rounds ?? 200, opts.seed ?? 0) };
}
