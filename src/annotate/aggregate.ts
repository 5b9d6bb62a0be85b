// Resolves several annotators' labels of one pair by majority, flagging ties instead of breaking them.
import { HARM_CATEGORIES, type HarmCategory, type ResponseId, type Severity } from '../data/record.js';
import { majority } from './agreement.js';
import type { PairLabel } from './model.js';

/** The judgements that are resolved by vote (categories and severity follow the safety vote). */
export const VOTED_JUDGEMENTS = ['better', 'safer', 'safe0', 'safe1'] as const;
export type VotedJudgement = (typeof VOTED_JUDGEMENTS)[number];

export interface Resolution {
  /** The majority label; undefined when any voted judgement is tied. */
  label: PairLabel | undefined;
  /** Judgements whose top vote count is shared (flagged for a reviewer). */
  ties: VotedJudgement[];
  votes: number;
  /** The majority calls the safer response unsafe while the other one is safe. */
  inconsistent: boolean;
}

/**
 * Majority per judgement. For a response the majority calls unsafe: the categories tagged by
 * more than half of those who called it unsafe (else the most-tagged ones) and the lower median
 * of their severities; a response the majority calls safe gets no category and severity 0.
 */
export function resolveByMajority(labels: readonly PairLabel[]): Resolution {
  const better = majority(labels.map((l) => l.better));
  const safer = majority(labels.map((l) => l.safer));
  const safe = [0, 1].map((i) => majority(labels.map((l) => l.isSafe[i] as boolean)));
  const ties: VotedJudgement[] = [];
  if (better.tie) ties.push('better');
  if (safer.tie) ties.push('safer');
  if (safe[0]?.tie) ties.push('safe0');
  if (safe[1]?.tie) ties.push('safe1');
  if (ties.length > 0 || labels.length === 0) return { label: undefined, ties, votes: labels.length, inconsistent: false };

  const isSafe: [boolean, boolean] = [safe[0]?.winner as boolean, safe[1]?.winner as boolean];
  const harm = (i: ResponseId): [HarmCategory[], Severity] => {
    if (isSafe[i]) return [[], 0];
    const unsafeVotes = labels.filter((l) => !l.isSafe[i]);
    const counts = new Map<HarmCategory, number>();
    for (const l of unsafeVotes) for (const c of l.categories[i]) counts.set(c, (counts.get(c) ?? 0) + 1);
    let cats = HARM_CATEGORIES.filter((c) => (counts.get(c) ?? 0) * 2 > unsafeVotes.length);
    if (cats.length === 0) {
      const top = Math.max(0, ...counts.values());
      cats = HARM_CATEGORIES.filter((c) => top > 0 && counts.get(c) === top);
    }
    const sev = unsafeVotes.map((l) => l.severity[i]).sort((a, b) => a - b);
    return [cats, (sev[Math.floor((sev.length - 1) / 2)] ?? 1) as Severity];
  };
  const [c0, s0] = harm(0);
  const [c1, s1] = harm(1);
  const label: PairLabel = {
    better: better.winner as ResponseId,
    safer: safer.winner as ResponseId,
    isSafe,
    categories: [c0, c1],
    severity: [s0, s1],
  };
  const other: ResponseId = label.safer === 0 ? 1 : 0;
  return { label, ties, votes: labels.length, inconsistent: !isSafe[label.safer] && isSafe[other] };
}
