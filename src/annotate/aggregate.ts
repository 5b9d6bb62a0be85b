// Resolves several annotators' labels of one pair by majority, flagging ties instead of breaking them.
import { HARM_CATEGORIES, type HarmCategory, type ResponseId, type Severity } from '../data/record.js';
import { majority } from './agreement.js';
import type { PairLabel } from './model.js';

/** The judgements that are resolved by vote (categories and severity follow the safety vote). */
export const VOTED_JUDGEMENTS = ['better', 'safer', 'safe0', 'safe1'] as const;
export type VotedJudgement = (typeof VOTED_JUDGEMENTS)[number];

/** A person's decision on a pair's tied judgements (response ids; `safeN`: response N is safe). */
export type TieDecision = Partial<{ better: ResponseId; safer: ResponseId; safe0: boolean; safe1: boolean }>;

export interface Resolution {
  /** The majority label; undefined when any voted judgement is tied. */
  label: PairLabel | undefined;
  /** Judgements whose top vote count is shared and that no decision settles (flagged for a reviewer). */
  ties: VotedJudgement[];
  /** Tied judgements settled by a person's decision. */
  decided: VotedJudgement[];
  votes: number;
  /** The majority calls the safer response unsafe while the other one is safe. */
  inconsistent: boolean;
}

/**
 * Majority per judgement. For a response the majority calls unsafe: the categories tagged by
 * more than half of those who called it unsafe (else the most-tagged ones) and the lower median
 * of their severities; a response the majority calls safe gets no category and severity 0.
 */
export function resolveByMajority(labels: readonly PairLabel[], decision: TieDecision = {}): Resolution {
  const ties: VotedJudgement[] = [];
  const decided: VotedJudgement[] = [];
  // A decision counts only where the vote is tied: it settles ties, never overrules a majority.
  const vote = <C>(name: VotedJudgement, votes: C[]): C | undefined => {
    const m = majority(votes);
    if (!m.tie) return m.winner;
    const d = decision[name] as C | undefined;
    if (d === undefined) ties.push(name);
    else decided.push(name);
    return d;
  };
  const better = vote('better', labels.map((l) => l.better));
  const safer = vote('safer', labels.map((l) => l.safer));
  const safe = [0, 1].map((i) => vote(i === 0 ? 'safe0' : 'safe1', labels.map((l) => l.isSafe[i] as boolean)));
  if (ties.length > 0 || labels.length === 0) return { label: undefined, ties, decided, votes: labels.length, inconsistent: false };

  const isSafe: [boolean, boolean] = [safe[0] as boolean, safe[1] as boolean];
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
    better: better as ResponseId,
    safer: safer as ResponseId,
    isSafe,
    categories: [c0, c1],
    severity: [s0, s1],
  };
  const other: ResponseId = label.safer === 0 ? 1 : 0;
  return { label, ties, decided, votes: labels.length, inconsistent: !isSafe[label.safer] && isSafe[other] };
}
