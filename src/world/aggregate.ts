// Majority aggregation of several annotators' labels, and agreement statistics.
import { HARM_CATEGORIES, type HarmCategory, type ResponseId, type Severity } from '../data/record.js';
import type { AnnotatorLabel, GoldPairLabels } from './annotators.js';
import type { Rng } from './rng.js';

export interface AggregatedLabel extends AnnotatorLabel {
  /** The majority's safer response was labelled unsafe while the other was labelled safe. */
  inconsistent: boolean;
  /** ...and `safer` was switched to the safe response (policy 'repair'). */
  repaired: boolean;
}

function majorityId(votes: ResponseId[], rng: Rng): ResponseId {
  const ones = votes.filter((v) => v === 1).length;
  const zeros = votes.length - ones;
  return ones > zeros ? 1 : zeros > ones ? 0 : rng.bernoulli(0.5) ? 0 : 1;
}

function majorityBool(votes: boolean[], rng: Rng): boolean {
  const yes = votes.filter(Boolean).length;
  const no = votes.length - yes;
  return yes > no ? true : no > yes ? false : rng.bernoulli(0.5);
}

function response(labels: readonly AnnotatorLabel[], i: ResponseId, rng: Rng): [boolean, HarmCategory[], Severity] {
  const safe = majorityBool(labels.map((l) => l.isSafe[i]), rng);
  if (safe) return [true, [], 0];
  const unsafeVotes = labels.filter((l) => !l.isSafe[i]);
  const counts = new Map<HarmCategory, number>();
  for (const l of unsafeVotes) for (const c of l.categories[i]) counts.set(c, (counts.get(c) ?? 0) + 1);
  let cats = HARM_CATEGORIES.filter((c) => (counts.get(c) ?? 0) * 2 > unsafeVotes.length);
  if (cats.length === 0) {
    const top = Math.max(0, ...counts.values());
    cats = HARM_CATEGORIES.filter((c) => top > 0 && counts.get(c) === top);
  }
  const sev = unsafeVotes.map((l) => l.severity[i]).sort((a, b) => a - b);
  const median = (sev[Math.floor((sev.length - 1) / 2)] ?? 1) as Severity;
  return [false, cats, median];
}

/**
 * Majority vote per judgement (ties broken by a seeded coin). Categories: those tagged by more
 * than half of the annotators who called the response unsafe (else the most-tagged ones);
 * severity: their lower median. The result is always internally consistent per response
 * (safe <=> no categories and severity 0).
 */
export function aggregateLabels(labels: readonly AnnotatorLabel[], policy: 'repair' | 'keep', rng: Rng): AggregatedLabel {
  const better = majorityId(labels.map((l) => l.better), rng);
  let safer = majorityId(labels.map((l) => l.safer), rng);
  const [s0, c0, v0] = response(labels, 0, rng);
  const [s1, c1, v1] = response(labels, 1, rng);
  const isSafe: [boolean, boolean] = [s0, s1];
  const inconsistent = !isSafe[safer] && isSafe[safer === 0 ? 1 : 0];
  let repaired = false;
  if (inconsistent && policy === 'repair') {
    safer = safer === 0 ? 1 : 0;
    repaired = true;
  }
  return { better, safer, isSafe, categories: [c0, c1], severity: [v0, v1], inconsistent, repaired };
}

export interface AgreementStats {
  /** Share of annotator pairs (two people, same item) who agree on the more helpful response. */
  better: number;
  /** ... on the safer response. */
  safer: number;
  /** ... on whether a response is safe (per response). */
  isSafe: number;
  /** Annotator pairs compared. */
  comparisons: number;
}

/** Inter-annotator agreement over items labelled by at least two annotators. */
export function interAnnotatorAgreement(items: readonly (readonly AnnotatorLabel[])[]): AgreementStats {
  let better = 0;
  let safer = 0;
  let isSafe = 0;
  let n = 0;
  for (const labels of items) {
    for (let i = 0; i < labels.length; i++) {
      for (let j = i + 1; j < labels.length; j++) {
        const a = labels[i] as AnnotatorLabel;
        const b = labels[j] as AnnotatorLabel;
        n += 1;
        if (a.better === b.better) better += 1;
        if (a.safer === b.safer) safer += 1;
        isSafe += (Number(a.isSafe[0] === b.isSafe[0]) + Number(a.isSafe[1] === b.isSafe[1])) / 2;
      }
    }
  }
  return n > 0 ? { better: better / n, safer: safer / n, isSafe: isSafe / n, comparisons: n } : { better: NaN, safer: NaN, isSafe: NaN, comparisons: 0 };
}

export interface GoldAgreement {
  /** Share of labels matching gold better (gold ties excluded). */
  better: number;
  /** Share of labels matching gold safer (gold ties excluded). */
  safer: number;
  /** Share of is_safe labels matching gold. */
  isSafe: number;
  labels: number;
}

/** How often labels (an annotator's or the majority's) match the gold labels of their pairs. */
export function agreementWithGold(pairs: readonly { label: AnnotatorLabel; gold: GoldPairLabels }[]): GoldAgreement {
  let better = 0;
  let betterN = 0;
  let safer = 0;
  let saferN = 0;
  let safe = 0;
  for (const { label, gold } of pairs) {
    if (gold.better !== null) {
      betterN += 1;
      if (label.better === gold.better) better += 1;
    }
    if (gold.safer !== null) {
      saferN += 1;
      if (label.safer === gold.safer) safer += 1;
    }
    safe += (Number(label.isSafe[0] === gold.isSafe[0]) + Number(label.isSafe[1] === gold.isSafe[1])) / 2;
  }
  return {
    better: betterN > 0 ? better / betterN : NaN,
    safer: saferN > 0 ? safer / saferN : NaN,
    isSafe: pairs.length > 0 ? safe / pairs.length : NaN,
    labels: pairs.length,
  };
}
