// Projects, imported batches and their pairs in the database; audit sampling happens at import.
import { randomInt } from 'node:crypto';
import type { SqlDriver, SqlRunner } from '../db/driver.js';
import type { ImportItem } from '../import.js';
import { ProjectSettingsSchema, type ItemKind, type Project, type ProjectSettings } from '../model.js';

interface ProjectRow {
  id: number;
  name: string;
  settings: string;
  created_at: string;
}

function toProject(r: ProjectRow): Project {
  return { id: r.id, name: r.name, settings: ProjectSettingsSchema.parse(JSON.parse(r.settings)), createdAt: r.created_at };
}

export async function createProject(db: SqlRunner, name: string, settings: ProjectSettings, userId: number): Promise<Project> {
  const r = await db.get<ProjectRow>(
    'INSERT INTO projects (name, settings, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id, name, settings, created_at',
    [name, JSON.stringify(settings), userId, new Date().toISOString()],
  );
  return toProject(r as ProjectRow);
}

export async function getProject(db: SqlRunner, id: number): Promise<Project | undefined> {
  const r = await db.get<ProjectRow>('SELECT id, name, settings, created_at FROM projects WHERE id = $1', [id]);
  return r && toProject(r);
}

export async function listProjects(db: SqlRunner): Promise<Project[]> {
  return (await db.all<ProjectRow>('SELECT id, name, settings, created_at FROM projects ORDER BY id')).map(toProject);
}

export interface Batch {
  id: number;
  projectId: number;
  name: string;
  kind: ItemKind;
  source: string;
  itemCount: number;
  /** Pairs sampled into the reviewer audit queue. */
  auditCount: number;
  createdAt: string;
}

interface BatchRow {
  id: number;
  project_id: number;
  name: string;
  kind: ItemKind;
  source: string;
  item_count: number;
  audit_count: number;
  created_at: string;
}

function toBatch(r: BatchRow): Batch {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    kind: r.kind,
    source: r.source,
    itemCount: r.item_count,
    auditCount: r.audit_count,
    createdAt: r.created_at,
  };
}

/** `k` distinct indices out of `n`, uniformly (partial Fisher-Yates with a CSPRNG). */
export function sampleIndices(n: number, k: number): Set<number> {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + randomInt(n - i);
    [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
  }
  return new Set(idx.slice(0, k));
}

/** Pairs of a task batch sampled for audit: round(share * n), at least one when the share is positive. */
export function auditSampleSize(n: number, share: number): number {
  if (n === 0 || share <= 0) return 0;
  return Math.min(n, Math.max(1, Math.round(share * n)));
}

/**
 * Stores a batch and its pairs in one transaction. For task batches a random `auditShare` of
 * the pairs is marked for the reviewer audit queue.
 */
export async function importBatch(
  db: SqlDriver,
  project: Project,
  batch: { name: string; kind: ItemKind; source: string; items: readonly ImportItem[] },
  userId: number,
): Promise<Batch> {
  return db.transaction((tx) => insertBatch(tx, project, batch, userId));
}

/** The inserts of `importBatch`, inside the caller's transaction (a generation job finishes in the same one). */
export async function insertBatch(
  tx: SqlRunner,
  project: Project,
  batch: { name: string; kind: ItemKind; source: string; items: readonly ImportItem[] },
  userId: number | null,
): Promise<Batch> {
  const now = new Date().toISOString();
  const audited = batch.kind === 'task' ? sampleIndices(batch.items.length, auditSampleSize(batch.items.length, project.settings.auditShare)) : new Set<number>();
  const b = (await tx.get<{ id: number }>(
    `INSERT INTO batches (project_id, name, kind, source, item_count, created_by, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [project.id, batch.name, batch.kind, batch.source, batch.items.length, userId, now],
  )) as { id: number };
  let i = 0;
  for (const item of batch.items) {
    if (item.imageSource && !item.image) throw new Error(`the image of line ${item.imageSource.line} was not read: call loadImportImages before storing the batch`);
    const row = await tx.get<{ id: number }>(
      `INSERT INTO items (project_id, batch_id, kind, prompt, response_0, response_1, prompt_source, response_0_source,
         response_1_source, gold, audit, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
      [
        project.id,
        b.id,
        batch.kind,
        item.prompt,
        item.responses[0],
        item.responses[1],
        item.promptSource ?? null,
        item.responseSources?.[0] ?? null,
        item.responseSources?.[1] ?? null,
        item.gold ? JSON.stringify(item.gold) : null,
        audited.has(i) ? 1 : 0,
        now,
      ],
    );
    // the bytes as base64 text: one column type on both databases
    if (item.image) await tx.run('INSERT INTO item_images (item_id, content_type, data) VALUES ($1, $2, $3)', [(row as { id: number }).id, item.image.contentType, item.image.data.toString('base64')]);
    i += 1;
  }
  return {
    id: b.id,
    projectId: project.id,
    name: batch.name,
    kind: batch.kind,
    source: batch.source,
    itemCount: batch.items.length,
    auditCount: audited.size,
    createdAt: now,
  };
}

const BATCH_SELECT = `SELECT b.id, b.project_id, b.name, b.kind, b.source, b.item_count, b.created_at,
    CAST((SELECT COUNT(*) FROM items i WHERE i.batch_id = b.id AND i.audit = 1) AS INTEGER) AS audit_count
  FROM batches b`;

export async function listBatches(db: SqlRunner, projectId: number): Promise<Batch[]> {
  const rows = await db.all<BatchRow>(
    `${BATCH_SELECT} WHERE b.project_id = $1 ORDER BY b.id`,
    [projectId],
  );
  return rows.map(toBatch);
}

export async function getBatch(db: SqlRunner, id: number): Promise<Batch | undefined> {
  const row = await db.get<BatchRow>(`${BATCH_SELECT} WHERE b.id = $1`, [id]);
  return row ? toBatch(row) : undefined;
}
