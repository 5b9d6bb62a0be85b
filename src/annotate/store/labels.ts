// Reading a project's pairs, labels, audits and qualification results for statistics and export.
import { z } from 'zod';
import { HARM_CATEGORIES, type HarmCategory, type ResponseId, type Severity } from '../../data/record.js';
import type { SqlRunner } from '../db/driver.js';
import { GoldLabelSchema, type GoldLabel, type ItemKind, type PairLabel } from '../model.js';

/** The label columns as stored. */
export interface LabelColumns {
  better: number;
  safer: number;
  safe_0: number;
  safe_1: number;
  categories_0: string;
  categories_1: string;
  severity_0: number;
  severity_1: number;
}

const Categories = z.array(z.enum(HARM_CATEGORIES));

export function labelOfRow(r: LabelColumns): PairLabel {
  return {
    better: r.better as ResponseId,
    safer: r.safer as ResponseId,
    isSafe: [r.safe_0 === 1, r.safe_1 === 1],
    categories: [Categories.parse(JSON.parse(r.categories_0)) as HarmCategory[], Categories.parse(JSON.parse(r.categories_1)) as HarmCategory[]],
    severity: [r.severity_0 as Severity, r.severity_1 as Severity],
  };
}

export interface ItemRecord {
  id: number;
  batchId: number;
  kind: ItemKind;
  prompt: string;
  responses: [string, string];
  promptSource: string | null;
  responseSources: [string | null, string | null];
  gold: GoldLabel | null;
  audit: boolean;
}

export async function projectItems(db: SqlRunner, projectId: number): Promise<ItemRecord[]> {
  const rows = await db.all<{
    id: number;
    batch_id: number;
    kind: ItemKind;
    prompt: string;
    response_0: string;
    response_1: string;
    prompt_source: string | null;
    response_0_source: string | null;
    response_1_source: string | null;
    gold: string | null;
    audit: number;
  }>(
    `SELECT id, batch_id, kind, prompt, response_0, response_1, prompt_source, response_0_source, response_1_source, gold, audit
     FROM items WHERE project_id = $1 ORDER BY id`,
    [projectId],
  );
  return rows.map((r) => ({
    id: r.id,
    batchId: r.batch_id,
    kind: r.kind,
    prompt: r.prompt,
    responses: [r.response_0, r.response_1],
    promptSource: r.prompt_source,
    responseSources: [r.response_0_source, r.response_1_source],
    gold: r.gold === null ? null : GoldLabelSchema.parse(JSON.parse(r.gold)),
    audit: r.audit === 1,
  }));
}

export interface LabelRecord {
  id: number;
  itemId: number;
  userId: number;
  username: string;
  label: PairLabel;
  /** Response 1 was shown on the left. */
  swapped: boolean;
  createdAt: string;
  audit: { verdict: 'approved' | 'rejected'; note: string; reviewer: string } | null;
}

export async function projectLabels(db: SqlRunner, projectId: number): Promise<LabelRecord[]> {
  const rows = await db.all<
    LabelColumns & {
      id: number;
      item_id: number;
      user_id: number;
      username: string;
      swapped: number;
      created_at: string;
      verdict: 'approved' | 'rejected' | null;
      note: string | null;
      reviewer: string | null;
    }
  >(
    `SELECT l.id, l.item_id, l.user_id, u.username, l.swapped, l.created_at,
       l.better, l.safer, l.safe_0, l.safe_1, l.categories_0, l.categories_1, l.severity_0, l.severity_1,
       x.verdict, x.note, r.username AS reviewer
     FROM labels l JOIN users u ON u.id = l.user_id
       LEFT JOIN audits x ON x.label_id = l.id LEFT JOIN users r ON r.id = x.reviewer_id
     WHERE l.project_id = $1 ORDER BY l.id`,
    [projectId],
  );
  return rows.map((r) => ({
    id: r.id,
    itemId: r.item_id,
    userId: r.user_id,
    username: r.username,
    label: labelOfRow(r),
    swapped: r.swapped === 1,
    createdAt: r.created_at,
    audit: r.verdict === null ? null : { verdict: r.verdict, note: r.note ?? '', reviewer: r.reviewer ?? '' },
  }));
}

export interface QualificationRecord {
  userId: number;
  username: string;
  attempts: number;
  bestScore: number | null;
  passed: boolean;
}

export async function qualificationResults(db: SqlRunner, projectId: number): Promise<QualificationRecord[]> {
  const rows = await db.all<{ user_id: number; username: string; attempts: number; best: number | null; passed: number }>(
    `SELECT q.user_id, u.username, CAST(COUNT(*) AS INTEGER) AS attempts, MAX(q.score) AS best,
       CAST(SUM(CASE WHEN q.status = 'passed' THEN 1 ELSE 0 END) AS INTEGER) AS passed
     FROM qualification_attempts q JOIN users u ON u.id = q.user_id
     WHERE q.project_id = $1 AND q.status <> 'open' GROUP BY q.user_id, u.username ORDER BY u.username`,
    [projectId],
  );
  return rows.map((r) => ({ userId: r.user_id, username: r.username, attempts: r.attempts, bestScore: r.best, passed: r.passed > 0 }));
}

export interface AssignmentCounts {
  open: number;
  done: number;
}

export async function assignmentCounts(db: SqlRunner, projectId: number): Promise<AssignmentCounts> {
  const r = await db.get<{ open: number | null; done: number | null }>(
    `SELECT CAST(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END) AS INTEGER) AS open,
       CAST(SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS INTEGER) AS done
     FROM assignments WHERE project_id = $1`,
    [projectId],
  );
  return { open: r?.open ?? 0, done: r?.done ?? 0 };
}
