// Quality control in the database: the qualification test from gold items, and the reviewer audit queue.
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { UniqueViolationError, type SqlDriver, type SqlRunner } from '../db/driver.js';
import { LOCKS, lockKey } from '../db/locks.js';
import { GoldLabelSchema, goldMatches, submissionToLabel, type GoldLabel, type LabelSubmission, type PairLabel, type Project } from '../model.js';
import { itemImageUrl } from './assignments.js';
import { labelOfRow, type LabelColumns } from './labels.js';

/** A qualification or audit request that is not allowed in the current state (HTTP 409/403/404). */
export class QualityError extends Error {
  override name = 'QualityError';
  constructor(
    readonly reason: 'not-found' | 'conflict' | 'closed',
    message: string,
  ) {
    super(message);
  }
}

export interface QualificationStatus {
  /** The project has qualification items, so annotators must pass before real work. */
  required: boolean;
  passed: boolean;
  attemptsUsed: number;
  attemptsAllowed: number;
  /** Score of the latest finished attempt (share of judgements matching gold). */
  lastScore: number | null;
}

export async function qualificationStatus(db: SqlRunner, project: Project, userId: number): Promise<QualificationStatus> {
  const q = await db.get<{ n: number }>(
    `SELECT CAST(COUNT(*) AS INTEGER) AS n FROM items WHERE project_id = $1 AND kind = 'qualification'`,
    [project.id],
  );
  const attempts = await db.all<{ status: string; score: number | null }>(
    `SELECT status, score FROM qualification_attempts WHERE project_id = $1 AND user_id = $2 AND status <> 'open' ORDER BY id`,
    [project.id, userId],
  );
  const required = (q?.n ?? 0) > 0;
  return {
    required,
    passed: !required || attempts.some((a) => a.status === 'passed'),
    attemptsUsed: attempts.length,
    attemptsAllowed: project.settings.maxQualificationAttempts,
    lastScore: attempts[attempts.length - 1]?.score ?? null,
  };
}

const AttemptItemsSchema = z.array(z.object({ itemId: z.number().int(), swapped: z.boolean() }));

export interface QualificationTest {
  attemptId: number;
  /** `image`: where the pair's image is served, when it has one. */
  items: { itemId: number; prompt: string; left: string; right: string; image?: string }[];
}

/** True when `itemId` is one of the pairs of the user's qualification attempt `attemptId` in the project. */
export async function attemptHasItem(db: SqlRunner, projectId: number, userId: number, attemptId: number, itemId: number): Promise<boolean> {
  const a = await db.get<{ items: string }>('SELECT items FROM qualification_attempts WHERE id = $1 AND project_id = $2 AND user_id = $3', [attemptId, projectId, userId]);
  return a !== undefined && AttemptItemsSchema.parse(JSON.parse(a.items)).some((i) => i.itemId === itemId);
}

/** The user's open qualification attempt, or a new one over all qualification items (order and sides shuffled). */
export async function startQualification(db: SqlDriver, project: Project, userId: number): Promise<QualificationTest> {
  // The limit is checked in the transaction that opens the attempt, serialised per annotator and
  // project, so a submission finishing meanwhile is counted (never one attempt too many).
  const attemptId = await db.transaction(async (tx) => {
    await lockKey(db, tx, LOCKS.qualification, `${project.id}:${userId}`);
    const status = await qualificationStatus(tx, project, userId);
    if (!status.required) throw new QualityError('conflict', 'this project has no qualification test');
    if (status.passed) throw new QualityError('conflict', 'you have already passed the qualification test of this project');
    const open = await tx.get<{ id: number }>(
      `SELECT id FROM qualification_attempts WHERE project_id = $1 AND user_id = $2 AND status = 'open'`,
      [project.id, userId],
    );
    if (open) return open.id;
    if (status.attemptsUsed >= status.attemptsAllowed) {
      throw new QualityError('closed', `no qualification attempts left (${status.attemptsUsed} of ${status.attemptsAllowed} used); ask an admin`);
    }
    const ids = (await tx.all<{ id: number }>(`SELECT id FROM items WHERE project_id = $1 AND kind = 'qualification' ORDER BY id`, [project.id])).map(
      (r) => r.id,
    );
    for (let i = ids.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
    }
    const items = ids.map((itemId) => ({ itemId, swapped: randomInt(2) === 1 }));
    const row = await tx.get<{ id: number }>(
      `INSERT INTO qualification_attempts (project_id, user_id, items, status, created_at) VALUES ($1, $2, $3, 'open', $4) RETURNING id`,
      [project.id, userId, JSON.stringify(items), new Date().toISOString()],
    );
    return (row as { id: number }).id;
  }).catch((e: unknown) => {
    if (e instanceof UniqueViolationError) return undefined;
    throw e;
  });
  // A concurrent request of the same user may have opened the attempt first: take that one.
  const attempt =
    attemptId === undefined
      ? await db.get<{ id: number; items: string }>(
          `SELECT id, items FROM qualification_attempts WHERE project_id = $1 AND user_id = $2 AND status = 'open'`,
          [project.id, userId],
        )
      : await db.get<{ id: number; items: string }>('SELECT id, items FROM qualification_attempts WHERE id = $1', [attemptId]);
  if (!attempt) throw new QualityError('conflict', 'the qualification attempt could not be opened; try again');
  const order = AttemptItemsSchema.parse(JSON.parse(attempt.items));
  const out: QualificationTest = { attemptId: attempt.id, items: [] };
  for (const { itemId, swapped } of order) {
    const it = (await db.get<{ prompt: string; response_0: string; response_1: string; has_image: number | boolean }>(
      'SELECT prompt, response_0, response_1, EXISTS (SELECT 1 FROM item_images im WHERE im.item_id = items.id) AS has_image FROM items WHERE id = $1',
      [itemId],
    )) as { prompt: string; response_0: string; response_1: string; has_image: number | boolean };
    const image = it.has_image ? { image: `/api/projects/${project.id}/qualification/${attempt.id}/items/${itemId}/image` } : {};
    out.items.push({ itemId, prompt: it.prompt, left: swapped ? it.response_1 : it.response_0, right: swapped ? it.response_0 : it.response_1, ...image });
  }
  return out;
}

export interface QualificationResult {
  score: number;
  passed: boolean;
  correct: number;
  judgements: number;
}

/**
 * Scores an attempt: each pair contributes four judgements (more helpful, more harmless, each
 * response's safety) compared with the gold answer; passed when score >= the pass mark.
 */
export async function submitQualification(
  db: SqlDriver,
  project: Project,
  userId: number,
  attemptId: number,
  answers: readonly { itemId: number; answer: LabelSubmission }[],
): Promise<QualificationResult> {
  return db.transaction(async (tx) => {
    await lockKey(db, tx, LOCKS.qualification, `${project.id}:${userId}`);
    const a = await tx.get<{ user_id: number; project_id: number; status: string; items: string }>(
      `SELECT user_id, project_id, status, items FROM qualification_attempts WHERE id = $1${db.dialect === 'postgres' ? ' FOR UPDATE' : ''}`,
      [attemptId],
    );
    // Another's attempt gets the same answer as a missing one.
    if (!a || a.project_id !== project.id || a.user_id !== userId) {
      throw new QualityError('not-found', `qualification attempt ${attemptId} is not one of yours in this project`);
    }
    if (a.status !== 'open') throw new QualityError('conflict', `qualification attempt ${attemptId} was already submitted`);
    const order = AttemptItemsSchema.parse(JSON.parse(a.items));
    const byItem = new Map(answers.map((x) => [x.itemId, x.answer]));
    if (byItem.size !== answers.length || order.length !== answers.length || order.some((o) => !byItem.has(o.itemId))) {
      throw new QualityError('conflict', `answer every pair of the test exactly once (${order.length} pairs; got ${answers.length} answers)`);
    }
    let correct = 0;
    const labels: (PairLabel & { itemId: number })[] = [];
    for (const { itemId, swapped } of order) {
      const row = (await tx.get<{ gold: string }>('SELECT gold FROM items WHERE id = $1', [itemId])) as { gold: string };
      const gold: GoldLabel = GoldLabelSchema.parse(JSON.parse(row.gold));
      const label = submissionToLabel(byItem.get(itemId) as LabelSubmission, swapped);
      labels.push({ itemId, ...label });
      correct += goldMatches(label, gold).filter(Boolean).length;
    }
    const judgements = order.length * 4;
    const score = correct / judgements;
    const passed = score >= project.settings.passMark;
    await tx.run(`UPDATE qualification_attempts SET status = $1, score = $2, answers = $3, completed_at = $4 WHERE id = $5`, [
      passed ? 'passed' : 'failed',
      score,
      JSON.stringify(labels),
      new Date().toISOString(),
      attemptId,
    ]);
    return { score, passed, correct, judgements };
  });
}

export interface AuditEntry {
  labelId: number;
  itemId: number;
  annotator: string;
  prompt: string;
  responses: [string, string];
  label: PairLabel;
  createdAt: string;
  /** Where the pair's image is served, when it has one. */
  image?: string;
}

/** Labels on pairs sampled for audit that no reviewer has judged yet, oldest first. */
export async function auditQueue(db: SqlRunner, projectId: number, limit = 50): Promise<AuditEntry[]> {
  const rows = await db.all<LabelColumns & { label_id: number; item_id: number; username: string; prompt: string; response_0: string; response_1: string; created_at: string; has_image: number | boolean }>(
    `SELECT l.id AS label_id, l.item_id, u.username, i.prompt, i.response_0, i.response_1, l.created_at,
       EXISTS (SELECT 1 FROM item_images im WHERE im.item_id = i.id) AS has_image,
       l.better, l.safer, l.safe_0, l.safe_1, l.categories_0, l.categories_1, l.severity_0, l.severity_1
     FROM labels l JOIN items i ON i.id = l.item_id JOIN users u ON u.id = l.user_id
     WHERE l.project_id = $1 AND i.audit = 1 AND i.kind = 'task' AND NOT EXISTS (SELECT 1 FROM audits x WHERE x.label_id = l.id)
     ORDER BY l.id LIMIT $2`,
    [projectId, limit],
  );
  return rows.map((r) => ({
    labelId: r.label_id,
    itemId: r.item_id,
    annotator: r.username,
    prompt: r.prompt,
    responses: [r.response_0, r.response_1],
    label: labelOfRow(r),
    createdAt: r.created_at,
    ...(r.has_image ? { image: itemImageUrl(projectId, r.item_id) } : {}),
  }));
}

/**
 * Records a reviewer's verdict on a label in the audit queue; a label is audited once. A rejected
 * label stops counting (export, resolution) and its pair is offered to one more annotator.
 */
export async function recordAudit(
  db: SqlDriver,
  projectId: number,
  labelId: number,
  reviewerId: number,
  verdict: 'approved' | 'rejected',
  note: string,
): Promise<void> {
  const label = await db.get<{ audit: number }>(
    `SELECT i.audit FROM labels l JOIN items i ON i.id = l.item_id WHERE l.id = $1 AND l.project_id = $2`,
    [labelId, projectId],
  );
  if (!label) throw new QualityError('not-found', `label ${labelId} does not exist in this project`);
  if (label.audit !== 1) throw new QualityError('conflict', `label ${labelId} is not in the audit sample`);
  try {
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO audits (label_id, reviewer_id, verdict, note, created_at) VALUES ($1, $2, $3, $4, $5)', [
        labelId,
        reviewerId,
        verdict,
        note,
        new Date().toISOString(),
      ]);
      // A rejected label does not count: the pair goes back to the pool for one more annotator.
      if (verdict === 'rejected') {
        await tx.run('UPDATE items SET assigned_count = assigned_count - 1 WHERE id = (SELECT item_id FROM labels WHERE id = $1)', [labelId]);
      }
    });
  } catch (e) {
    if (e instanceof UniqueViolationError) throw new QualityError('conflict', `label ${labelId} has already been audited`);
    throw e;
  }
}
