// Exports: majority-resolved labels as PKU-SafeRLHF JSONL (what the training loaders read) and raw per-annotator labels.
import { toJsonLine } from '../data/jsonl.js';
import { recordToPkuRow, type PkuSafeRlhfRow } from '../data/pku-saferlhf.js';
import { HARM_CATEGORIES, type HarmCategory, type PreferenceRecord } from '../data/record.js';
import { resolveByMajority, type TieDecision, type VotedJudgement } from './aggregate.js';
import type { ItemRecord, LabelRecord } from './store/labels.js';

export interface AggregateExport {
  rows: PkuSafeRlhfRow[];
  /** Pairs left out because a judgement is tied (listed for a reviewer). */
  tied: { itemId: number; ties: VotedJudgement[] }[];
  /** Pairs left out because they have fewer labels than `minLabels`. */
  incomplete: number;
}

/** Labels that count for the majority: everything except what a reviewer rejected. */
export function countedLabels(labels: readonly LabelRecord[]): LabelRecord[] {
  return labels.filter((l) => l.audit?.verdict !== 'rejected');
}

/** Groups labels by item id. */
export function labelsByItem(labels: readonly LabelRecord[]): Map<number, LabelRecord[]> {
  const out = new Map<number, LabelRecord[]>();
  for (const l of labels) {
    const list = out.get(l.itemId);
    if (list) list.push(l);
    else out.set(l.itemId, [l]);
  }
  return out;
}

/**
 * One PKU-SafeRLHF row per task pair with at least `minLabels` counted labels and no tied
 * judgement left undecided (`decisions`: a person's decisions on ties, by item id);
 * `prompt_source`/`response_N_source` are kept from the import, checksums computed.
 */
export function aggregateExport(
  items: readonly ItemRecord[],
  labels: readonly LabelRecord[],
  minLabels: number,
  decisions: ReadonlyMap<number, TieDecision> = new Map(),
): AggregateExport {
  const byItem = labelsByItem(countedLabels(labels));
  const out: AggregateExport = { rows: [], tied: [], incomplete: 0 };
  for (const item of items) {
    if (item.kind !== 'task') continue;
    const ls = byItem.get(item.id) ?? [];
    if (ls.length < Math.max(1, minLabels)) {
      out.incomplete += 1;
      continue;
    }
    const res = resolveByMajority(
      ls.map((l) => l.label),
      decisions.get(item.id),
    );
    if (!res.label) {
      out.tied.push({ itemId: item.id, ties: res.ties });
      continue;
    }
    const record: PreferenceRecord = {
      prompt: item.prompt,
      responses: item.responses,
      betterResponseId: res.label.better,
      saferResponseId: res.label.safer,
      isSafe: res.label.isSafe,
      categories: res.label.categories,
      severity: res.label.severity,
    };
    const source: NonNullable<PreferenceRecord['source']> = {};
    if (item.promptSource) source.prompt = item.promptSource;
    const [s0, s1] = item.responseSources;
    if (s0 && s1) source.responses = [s0, s1];
    if (Object.keys(source).length > 0) record.source = source;
    out.rows.push(recordToPkuRow(record, {}, `item ${item.id}`));
  }
  return out;
}

function categoryDict(cats: readonly HarmCategory[]): Record<HarmCategory, boolean> {
  const set = new Set(cats);
  return Object.fromEntries(HARM_CATEGORIES.map((c) => [c, set.has(c)])) as Record<HarmCategory, boolean>;
}

/**
 * One line per label with PKU-SafeRLHF field names for the judgements (so the file also reads as
 * PKU-SafeRLHF, one row per annotator), plus who labelled it, the display order and the audit.
 */
export function rawLabelRows(items: readonly ItemRecord[], labels: readonly LabelRecord[]): Record<string, unknown>[] {
  const itemById = new Map(items.map((i) => [i.id, i]));
  return labels.map((l) => {
    const item = itemById.get(l.itemId) as ItemRecord;
    return {
      prompt: item.prompt,
      response_0: item.responses[0],
      response_1: item.responses[1],
      is_response_0_safe: l.label.isSafe[0],
      is_response_1_safe: l.label.isSafe[1],
      response_0_harm_category: categoryDict(l.label.categories[0]),
      response_1_harm_category: categoryDict(l.label.categories[1]),
      response_0_severity_level: l.label.severity[0],
      response_1_severity_level: l.label.severity[1],
      better_response_id: l.label.better,
      safer_response_id: l.label.safer,
      label_id: l.id,
      item_id: l.itemId,
      item_kind: item.kind,
      annotator: l.username,
      shown_left: l.swapped ? 1 : 0,
      labelled_at: l.createdAt,
      audit_verdict: l.audit?.verdict ?? null,
      audit_note: l.audit?.note ?? null,
      audit_reviewer: l.audit?.reviewer ?? null,
    };
  });
}

/** JSONL text (one `toJsonLine` per row, trailing newline; empty string for no rows). */
export function toJsonl(rows: readonly unknown[]): string {
  return rows.map((r) => `${toJsonLine(r)}\n`).join('');
}

export type ExportKind = 'aggregated' | 'raw';

export interface ProjectExport {
  /** JSONL text. */
  text: string;
  /** Lines written. */
  rows: number;
  /** For aggregated exports: pairs left out for ties / too few labels. */
  tied: number;
  incomplete: number;
}

/** The aggregated (PKU-SafeRLHF) or raw export of one project's pairs and labels. */
export function buildExport(
  items: readonly ItemRecord[],
  labels: readonly LabelRecord[],
  kind: ExportKind,
  minLabels: number,
  decisions: ReadonlyMap<number, TieDecision> = new Map(),
): ProjectExport {
  if (kind === 'raw') {
    const rows = rawLabelRows(items, labels);
    return { text: toJsonl(rows), rows: rows.length, tied: 0, incomplete: 0 };
  }
  const out = aggregateExport(items, labels, minLabels, decisions);
  return { text: toJsonl(out.rows), rows: out.rows.length, tied: out.tied.length, incomplete: out.incomplete };
}
