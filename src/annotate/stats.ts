// Dashboard statistics of a project: counts, agreement per question, per-annotator accuracy and agreement, ties.
import { cohensKappa, fleissKappa, majority, percentAgreement, type KappaResult } from './agreement.js';
import { countedLabels, labelsByItem } from './export.js';
import { resolveByMajority, type TieDecision, type VotedJudgement } from './aggregate.js';
import { goldMatches, type PairLabel } from './model.js';
import type { AssignmentCounts, ItemRecord, LabelRecord, QualificationRecord } from './store/labels.js';

/** The questions agreement is measured on; each response is one rated unit for the per-response ones. */
export const AGREEMENT_QUESTIONS = {
  better: 'Which response is more helpful',
  safer: 'Which response is more harmless',
  safe: 'Is the response safe (per response)',
  severity: 'Severity, 0 = safe (per response)',
} as const;
export type AgreementQuestion = keyof typeof AGREEMENT_QUESTIONS;

type Unit = number | boolean;

/** Rated units of a question: one list of (annotator, value) per item, or per item response. */
function unitsOf(question: AgreementQuestion, labels: readonly LabelRecord[]): { user: number; value: Unit }[][] {
  const byItem = labelsByItem(labels);
  const units: { user: number; value: Unit }[][] = [];
  for (const ls of byItem.values()) {
    if (question === 'better' || question === 'safer') {
      units.push(ls.map((l) => ({ user: l.userId, value: l.label[question] })));
    } else {
      for (const i of [0, 1] as const) {
        units.push(ls.map((l) => ({ user: l.userId, value: question === 'safe' ? l.label.isSafe[i] : l.label.severity[i] })));
      }
    }
  }
  return units;
}

export interface QuestionAgreement {
  question: AgreementQuestion;
  text: string;
  /** Units rated by two or more annotators. */
  units: number;
  percentAgreement: number | null;
  fleiss: KappaResult;
  /**
   * Cohen's kappa: with exactly two annotators, theirs over the units both rated; with more,
   * the mean over annotator pairs with shared units (Light's kappa); null when undefined.
   */
  cohen: { kappa: number | null; method: 'two annotators' | 'mean over pairs (Light)'; pairs: number };
}

function cohenFor(units: readonly { user: number; value: Unit }[][]): QuestionAgreement['cohen'] {
  const users = [...new Set(units.flatMap((u) => u.map((x) => x.user)))].sort((a, b) => a - b);
  const kappas: number[] = [];
  for (let a = 0; a < users.length; a++) {
    for (let b = a + 1; b < users.length; b++) {
      const pairs: [Unit, Unit][] = [];
      for (const u of units) {
        const x = u.find((r) => r.user === users[a]);
        const y = u.find((r) => r.user === users[b]);
        if (x && y) pairs.push([x.value, y.value]);
      }
      const k = pairs.length > 0 ? cohensKappa(pairs).kappa : null;
      if (k !== null) kappas.push(k);
    }
  }
  const method = users.length === 2 ? 'two annotators' : 'mean over pairs (Light)';
  return { kappa: kappas.length ? kappas.reduce((s, k) => s + k, 0) / kappas.length : null, method, pairs: kappas.length };
}

export function questionAgreement(labels: readonly LabelRecord[]): QuestionAgreement[] {
  return (Object.keys(AGREEMENT_QUESTIONS) as AgreementQuestion[]).map((question) => {
    const units = unitsOf(question, labels);
    const values = units.map((u) => u.map((x) => x.value));
    const pa = percentAgreement(values);
    return {
      question,
      text: AGREEMENT_QUESTIONS[question],
      units: pa.items,
      percentAgreement: pa.items > 0 ? pa.agreement : null,
      fleiss: fleissKappa(values),
      cohen: cohenFor(units),
    };
  });
}

export interface AnnotatorStats {
  userId: number;
  username: string;
  /** Labels on task pairs. */
  taskLabels: number;
  /** Labels on gold items mixed into batches. */
  goldLabels: number;
  /** Share of gold judgements (helpful, harmless, safety of each response) matching the gold answer. */
  goldAccuracy: number | null;
  /** Share of judgements equal to the majority of the other annotators of the same pair (ties skipped). */
  agreementWithOthers: number | null;
  qualification: { attempts: number; bestScore: number | null; passed: boolean } | null;
  audits: { approved: number; rejected: number };
}

function judgements(l: PairLabel): Unit[] {
  return [l.better, l.safer, l.isSafe[0], l.isSafe[1]];
}

export function annotatorStats(items: readonly ItemRecord[], labels: readonly LabelRecord[], quals: readonly QualificationRecord[]): AnnotatorStats[] {
  const itemById = new Map(items.map((i) => [i.id, i]));
  const taskByItem = labelsByItem(labels.filter((l) => itemById.get(l.itemId)?.kind === 'task'));
  const users = new Map<number, string>();
  for (const l of labels) users.set(l.userId, l.username);
  for (const q of quals) users.set(q.userId, q.username);
  return [...users].map(([userId, username]) => {
    const mine = labels.filter((l) => l.userId === userId);
    let goldRight = 0;
    let goldTotal = 0;
    let agree = 0;
    let compared = 0;
    let taskLabels = 0;
    let goldLabels = 0;
    for (const l of mine) {
      const item = itemById.get(l.itemId);
      if (!item) continue;
      if (item.kind === 'gold' && item.gold) {
        goldLabels += 1;
        const m = goldMatches(l.label, item.gold);
        goldRight += m.filter(Boolean).length;
        goldTotal += m.length;
      }
      if (item.kind !== 'task') continue;
      taskLabels += 1;
      const others = (taskByItem.get(l.itemId) ?? []).filter((o) => o.userId !== userId);
      if (others.length === 0) continue;
      const own = judgements(l.label);
      own.forEach((v, j) => {
        const m = majority(others.map((o) => judgements(o.label)[j] as Unit));
        if (m.tie) return;
        compared += 1;
        if (m.winner === v) agree += 1;
      });
    }
    const q = quals.find((x) => x.userId === userId);
    return {
      userId,
      username,
      taskLabels,
      goldLabels,
      goldAccuracy: goldTotal > 0 ? goldRight / goldTotal : null,
      agreementWithOthers: compared > 0 ? agree / compared : null,
      qualification: q ? { attempts: q.attempts, bestScore: q.bestScore, passed: q.passed } : null,
      audits: {
        approved: mine.filter((l) => l.audit?.verdict === 'approved').length,
        rejected: mine.filter((l) => l.audit?.verdict === 'rejected').length,
      },
    };
  });
}

export interface ProjectStats {
  counts: {
    pairs: { task: number; gold: number; qualification: number };
    auditSample: number;
    assignments: AssignmentCounts;
    labels: { task: number; gold: number };
    /** Task pairs with at least one label / with N labels that count (not rejected in audit). */
    labelledPairs: number;
    completePairs: number;
    audits: { pending: number; approved: number; rejected: number };
  };
  agreement: QuestionAgreement[];
  annotators: AnnotatorStats[];
  resolution: {
    /** Complete pairs (N counted labels) resolved by majority, or by majority and a person's decision on the ties. */
    resolved: number;
    /** Of those, pairs whose ties a reviewer or admin decided. */
    decided: number;
    /** Complete pairs whose majority marks the safer response unsafe and the other safe. */
    inconsistent: number;
    /** Complete pairs with a tied judgement, for a reviewer to resolve. */
    tied: { itemId: number; prompt: string; ties: VotedJudgement[]; votes: number }[];
  };
}

/** Everything the admin dashboard shows. Agreement uses all task labels; the resolution skips rejected ones. */
export function projectStats(
  items: readonly ItemRecord[],
  labels: readonly LabelRecord[],
  quals: readonly QualificationRecord[],
  assignments: AssignmentCounts,
  annotatorsPerPair: number,
  decisions: ReadonlyMap<number, TieDecision> = new Map(),
): ProjectStats {
  const kindOf = new Map(items.map((i) => [i.id, i.kind]));
  const taskLabels = labels.filter((l) => kindOf.get(l.itemId) === 'task');
  const byItem = labelsByItem(taskLabels);
  const counted = labelsByItem(countedLabels(taskLabels));
  const sampled = new Set(items.filter((i) => i.audit).map((i) => i.id));
  const auditable = taskLabels.filter((l) => sampled.has(l.itemId));
  const resolution: ProjectStats['resolution'] = { resolved: 0, decided: 0, inconsistent: 0, tied: [] };
  for (const item of items) {
    const ls = counted.get(item.id) ?? [];
    if (item.kind !== 'task' || ls.length < annotatorsPerPair) continue;
    const r = resolveByMajority(
      ls.map((l) => l.label),
      decisions.get(item.id),
    );
    if (r.label) {
      resolution.resolved += 1;
      if (r.decided.length > 0) resolution.decided += 1;
      if (r.inconsistent) resolution.inconsistent += 1;
    } else {
      resolution.tied.push({ itemId: item.id, prompt: item.prompt.slice(0, 200), ties: r.ties, votes: r.votes });
    }
  }
  const count = (kind: string): number => items.filter((i) => i.kind === kind).length;
  return {
    counts: {
      pairs: { task: count('task'), gold: count('gold'), qualification: count('qualification') },
      auditSample: items.filter((i) => i.kind === 'task' && i.audit).length,
      assignments,
      labels: { task: taskLabels.length, gold: labels.filter((l) => kindOf.get(l.itemId) === 'gold').length },
      labelledPairs: byItem.size,
      completePairs: [...counted.values()].filter((ls) => ls.length >= annotatorsPerPair).length,
      audits: {
        pending: auditable.filter((l) => l.audit === null).length,
        approved: auditable.filter((l) => l.audit?.verdict === 'approved').length,
        rejected: auditable.filter((l) => l.audit?.verdict === 'rejected').length,
      },
    },
    agreement: questionAgreement(taskLabels),
    annotators: annotatorStats(items, labels, quals),
    resolution,
  };
}
