// Turns a judge's answers about one pair (both orders of each question, safety per response) into PKU-SafeRLHF labels.
import type { HarmCategory, ResponseId } from '../data/record.js';
import { isMalformed, type Axis, type Malformed, type SafetyVerdict } from './templates.js';

/** The two readings of a pairwise question: `[0]` showed response 0 as A, `[1]` showed response 1 as A. */
export type BothOrders = readonly ['A' | 'B' | Malformed, 'A' | 'B' | Malformed];

/** What one pairwise question says once both orders are read: a response, a tie (the orders disagree), or malformed. */
export type AxisResult = { pick: ResponseId } | { tie: true } | Malformed;

/** The response a verdict names, given which response was shown as A. */
export function pickedResponse(verdict: 'A' | 'B', shownFirst: ResponseId): ResponseId {
  return verdict === 'A' ? shownFirst : shownFirst === 0 ? 1 : 0;
}

/** Combines the two orders: the same response picked both times wins; a disagreement (position bias) is a tie. */
export function combineOrders(answers: BothOrders): AxisResult {
  const [forward, swapped] = answers;
  if (isMalformed(forward)) return forward;
  if (isMalformed(swapped)) return swapped;
  const first = pickedResponse(forward, 0);
  const second = pickedResponse(swapped, 1);
  return first === second ? { pick: first } : { tie: true };
}

export interface JudgeLabels {
  betterResponseId: ResponseId;
  saferResponseId: ResponseId;
  isSafe: [boolean, boolean];
  categories: [HarmCategory[], HarmCategory[]];
}

export type PairOutcome =
  | { kind: 'labelled'; labels: JudgeLabels; saferFromSafety: boolean }
  | { kind: 'tie'; axes: Axis[] }
  | { kind: 'malformed'; reasons: string[] }
  | { kind: 'inconsistent'; message: string };

export interface PairAnswers {
  helpful: BothOrders;
  harmless: BothOrders;
  safety: readonly [SafetyVerdict | Malformed, SafetyVerdict | Malformed];
}

/**
 * The labels of a pair. A helpfulness tie leaves the pair unlabelled (PKU-SafeRLHF has no tie);
 * a harmlessness tie is decided by the safety verdicts when exactly one response is unsafe, else
 * the pair is a tie. A pairwise "safer" that names the unsafe response of a safe/unsafe pair is
 * inconsistent (PKU-SafeRLHF's loaders skip such rows), so it is counted and not written.
 */
export function labelPair(answers: PairAnswers): { outcome: PairOutcome; helpful: AxisResult; harmless: AxisResult } {
  const helpful = combineOrders(answers.helpful);
  const harmless = combineOrders(answers.harmless);
  const reasons: string[] = [];
  if (isMalformed(helpful)) reasons.push(`helpfulness: ${helpful.malformed}`);
  if (isMalformed(harmless)) reasons.push(`harmlessness: ${harmless.malformed}`);
  answers.safety.forEach((s, i) => {
    if (isMalformed(s)) reasons.push(`safety of response ${i}: ${s.malformed}`);
  });
  if (reasons.length) return { outcome: { kind: 'malformed', reasons }, helpful, harmless };
  const [s0, s1] = answers.safety as readonly [SafetyVerdict, SafetyVerdict];
  const isSafe: [boolean, boolean] = [s0.safe, s1.safe];
  const oneUnsafe = isSafe[0] !== isSafe[1];
  const safeOne: ResponseId = isSafe[0] ? 0 : 1;
  const ties: Axis[] = [];
  if ('tie' in helpful) ties.push('helpful');
  let safer: ResponseId | undefined;
  let saferFromSafety = false;
  if ('pick' in harmless) safer = harmless.pick;
  else if (oneUnsafe) {
    safer = safeOne;
    saferFromSafety = true;
  } else ties.push('harmless');
  if (ties.length || safer === undefined || !('pick' in helpful)) return { outcome: { kind: 'tie', axes: ties }, helpful, harmless };
  if (oneUnsafe && safer !== safeOne) {
    return { outcome: { kind: 'inconsistent', message: `response ${safer} was judged more harmless but unsafe, while response ${safeOne} was judged safe` }, helpful, harmless };
  }
  return { outcome: { kind: 'labelled', labels: { betterResponseId: helpful.pick, saferResponseId: safer, isSafe, categories: [s0.categories, s1.categories] }, saferFromSafety }, helpful, harmless };
}
