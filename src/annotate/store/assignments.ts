// Handing out pairs to annotators (at most N per pair, never twice to a person) and storing their labels durably.
import { randomInt } from 'node:crypto';
import { RetryableTransactionError, UniqueViolationError, type SqlDriver, type SqlRunner } from '../db/driver.js';
import type { ItemKind, PairLabel, Project } from '../model.js';

export interface Assignment {
  id: number;
  projectId: number;
  itemId: number;
  userId: number;
  /** Response 1 is shown on the left. */
  swapped: boolean;
  status: 'open' | 'done';
  createdAt: string;
  kind: ItemKind;
  batchId: number;
  prompt: string;
  responses: [string, string];
  /** The pair has an image shown beside the prompt (`itemImage`). */
  hasImage: boolean;
}

interface AssignmentRow {
  id: number;
  project_id: number;
  item_id: number;
  user_id: number;
  swapped: number;
  status: 'open' | 'done';
  created_at: string;
  kind: ItemKind;
  batch_id: number;
  prompt: string;
  response_0: string;
  response_1: string;
  has_image: number | boolean;
}

const SELECT_ASSIGNMENT = `SELECT a.id, a.project_id, a.item_id, a.user_id, a.swapped, a.status, a.created_at,
  i.kind, i.batch_id, i.prompt, i.response_0, i.response_1,
  EXISTS (SELECT 1 FROM item_images im WHERE im.item_id = i.id) AS has_image
  FROM assignments a JOIN items i ON i.id = a.item_id`;

/** Where reviewers and admins get the image of pair `itemId` of project `projectId`. */
export function itemImageUrl(projectId: number, itemId: number): string {
  return `/api/projects/${projectId}/items/${itemId}/image`;
}

/** The ids of the project's pairs that have an image. */
export async function itemsWithImages(db: SqlRunner, projectId: number): Promise<Set<number>> {
  const rows = await db.all<{ item_id: number }>('SELECT im.item_id FROM item_images im JOIN items i ON i.id = im.item_id WHERE i.project_id = $1', [projectId]);
  return new Set(rows.map((r) => r.item_id));
}

/** The image of item `itemId` (content type and bytes), or undefined when it has none. */
export async function itemImage(db: SqlRunner, itemId: number): Promise<{ contentType: string; data: Buffer } | undefined> {
  const r = await db.get<{ content_type: string; data: string }>('SELECT content_type, data FROM item_images WHERE item_id = $1', [itemId]);
  return r && { contentType: r.content_type, data: Buffer.from(r.data, 'base64') };
}

function toAssignment(r: AssignmentRow): Assignment {
  return {
    id: r.id,
    projectId: r.project_id,
    itemId: r.item_id,
    userId: r.user_id,
    swapped: r.swapped === 1,
    status: r.status,
    createdAt: r.created_at,
    kind: r.kind,
    batchId: r.batch_id,
    prompt: r.prompt,
    responses: [r.response_0, r.response_1],
    hasImage: Boolean(r.has_image),
  };
}

/** Label submission problems the HTTP layer turns into 404/409. */
export class AssignmentError extends Error {
  override name = 'AssignmentError';
  constructor(
    readonly reason: 'not-found' | 'already-answered',
    message: string,
  ) {
    super(message);
  }
}

/** The one answer for an assignment that does not exist and for one of another annotator (a 404 either way). */
export function notYourAssignment(id: number): string {
  return `assignment ${id} is not one of yours (it may have expired and been released); load the next pair`;
}

export async function getAssignment(db: SqlRunner, id: number): Promise<Assignment | undefined> {
  const r = await db.get<AssignmentRow>(`${SELECT_ASSIGNMENT} WHERE a.id = $1`, [id]);
  return r && toAssignment(r);
}

/** Gives open assignments older than the project's timeout back to the pool. */
async function releaseExpired(tx: SqlRunner, project: Project): Promise<void> {
  const cutoff = new Date(Date.now() - project.settings.assignmentTimeoutMinutes * 60_000).toISOString();
  const released = await tx.all<{ item_id: number }>(
    `DELETE FROM assignments WHERE project_id = $1 AND status = 'open' AND created_at < $2 RETURNING item_id`,
    [project.id, cutoff],
  );
  for (const r of released) {
    await tx.run(`UPDATE items SET assigned_count = assigned_count - 1 WHERE id = $1 AND kind = 'task'`, [r.item_id]);
  }
}

/** Guards block boundaries against rounding (0.1 x 30 = 3.0000000000000004). */
const EPS = 1e-9;

/**
 * Whether the next assignment (0-based position `totalSoFar` among the annotator's assignments
 * in the project) should be a gold item. The positions fall into blocks of 1/share assignments
 * (block k: from ceil((k-1)/share) to ceil(k/share) - 1), and the k-th gold item sits at a
 * uniformly random position of block k: while block k has had no gold yet, each position is
 * gold with probability 1 / (positions left in the block). So gold makes up `share` of the
 * assignments, and nothing about the position tells an annotator which one is gold.
 * `draw`: uniform in [0, 1).
 */
export function goldIsDue(goldSoFar: number, totalSoFar: number, share: number, draw: number): boolean {
  if (share <= 0) return false;
  const block = Math.floor(totalSoFar * share + EPS) + 1;
  if (goldSoFar >= block) return false;
  const lastOfBlock = Math.ceil(block / share - EPS) - 1;
  return draw * (lastOfBlock - totalSoFar + 1) < 1;
}

async function pickGold(tx: SqlRunner, projectId: number, userId: number): Promise<number | undefined> {
  const r = await tx.get<{ id: number }>(
    `SELECT id FROM items WHERE project_id = $1 AND kind = 'gold'
       AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = items.id AND a.user_id = $2)
     ORDER BY RANDOM() LIMIT 1`,
    [projectId, userId],
  );
  return r?.id;
}

/**
 * Claims a task pair for the user: one that has fewer than N assignments and none for this user.
 * PostgreSQL: the candidate row is locked FOR NO KEY UPDATE SKIP LOCKED, so concurrent
 * annotators take different rows without waiting (NO KEY: label inserts only KEY SHARE-lock the
 * pair and must not hide it). A locked row may still have room, so when the fast pass finds
 * nothing a second pass waits for the locks and re-checks the count before answering "none
 * left". The counter is raised only while still below N. SQLite: the whole transaction holds
 * the write lock (BEGIN IMMEDIATE).
 */
async function claimTask(
  tx: SqlRunner,
  dialect: SqlDriver['dialect'],
  project: Project,
  userId: number,
): Promise<{ id: number; batchId: number } | undefined> {
  const n = project.settings.annotatorsPerPair;
  const select = (lock: string): Promise<{ id: number; batch_id: number } | undefined> =>
    tx.get<{ id: number; batch_id: number }>(
      `SELECT id, batch_id FROM items WHERE project_id = $1 AND kind = 'task' AND assigned_count < $2
         AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = items.id AND a.user_id = $3)
       ORDER BY batch_id, assigned_count DESC, id LIMIT 1${lock}`,
      [project.id, n, userId],
    );
  // With the row locked (PostgreSQL) or the database locked (SQLite) the update cannot miss; the
  // bound only guards against looping on a broken invariant.
  for (let tries = 0; tries < 100; tries++) {
    let candidate: { id: number; batch_id: number } | undefined;
    if (dialect === 'postgres') candidate = (await select(' FOR NO KEY UPDATE SKIP LOCKED')) ?? (await select(' FOR NO KEY UPDATE'));
    else candidate = await select('');
    if (!candidate) return undefined;
    const claimed = await tx.run('UPDATE items SET assigned_count = assigned_count + 1 WHERE id = $1 AND assigned_count < $2', [
      candidate.id,
      n,
    ]);
    if (claimed.changes === 1) return { id: candidate.id, batchId: candidate.batch_id };
  }
  throw new Error(`could not claim a pair of project ${project.id} after 100 tries: assigned_count is inconsistent`);
}

/** The first task batch with a pair this user may still take (the batch they are working on), or undefined. */
async function batchWithWork(db: SqlRunner, project: Project, userId: number): Promise<number | undefined> {
  const r = await db.get<{ batch_id: number }>(
    `SELECT batch_id FROM items WHERE project_id = $1 AND kind = 'task' AND assigned_count < $2
       AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = items.id AND a.user_id = $3)
     ORDER BY batch_id LIMIT 1`,
    [project.id, project.settings.annotatorsPerPair, userId],
  );
  return r?.batch_id;
}

/**
 * The user's open assignment in the project, or a new one (a gold item when one is due, else a
 * task pair), or undefined when nothing is left for this user. Gold is served only while task
 * work is left, and counts towards the task batch being worked on (so progress moves the same
 * after gold as after a task). Display order is drawn at random and recorded. Safe under
 * concurrent calls, also from several server processes.
 */
export async function nextAssignment(db: SqlDriver, project: Project, userId: number): Promise<Assignment | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      const id = await db.transaction(async (tx) => {
        // One request per annotator and project at a time, so that a second simultaneous request
        // sees the first one's assignment instead of finding the last pair locked and answering "done".
        if (db.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock($1, $2)', [project.id, userId]);
        await releaseExpired(tx, project);
        const open = await tx.get<{ id: number }>(`SELECT id FROM assignments WHERE project_id = $1 AND user_id = $2 AND status = 'open'`, [
          project.id,
          userId,
        ]);
        if (open) return open.id;
        const counts = (await tx.get<{ gold: number | null; total: number }>(
          `SELECT CAST(SUM(CASE WHEN i.kind = 'gold' THEN 1 ELSE 0 END) AS INTEGER) AS gold, CAST(COUNT(*) AS INTEGER) AS total
           FROM assignments a JOIN items i ON i.id = a.item_id WHERE a.project_id = $1 AND a.user_id = $2`,
          [project.id, userId],
        )) ?? { gold: 0, total: 0 };
        const working = await batchWithWork(tx, project, userId);
        if (working === undefined) return undefined;
        const draw = randomInt(2 ** 32) / 2 ** 32;
        const gold = goldIsDue(counts.gold ?? 0, counts.total, project.settings.goldShare, draw) ? await pickGold(tx, project.id, userId) : undefined;
        const item = gold !== undefined ? { id: gold, batchId: working } : await claimTask(tx, db.dialect, project, userId);
        if (item === undefined) return undefined;
        const row = await tx.get<{ id: number }>(
          `INSERT INTO assignments (project_id, item_id, user_id, swapped, status, created_at, batch_id) VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id`,
          [project.id, item.id, userId, randomInt(2), new Date().toISOString(), item.batchId],
        );
        return (row as { id: number }).id;
      });
      return id === undefined ? undefined : ((await getAssignment(db, id)) as Assignment);
    } catch (e) {
      // Two requests of the same user raced to open an assignment: the loser takes the winner's.
      if ((e instanceof UniqueViolationError || e instanceof RetryableTransactionError) && attempt < 5) continue;
      throw e;
    }
  }
}

/**
 * Stores a label and closes the assignment in one transaction; resolves after COMMIT, so an
 * acknowledged submission is on disk. Returns the label id.
 */
export async function submitLabel(db: SqlDriver, assignmentId: number, userId: number, label: PairLabel): Promise<number> {
  return db.transaction(async (tx) => {
    const a = await tx.get<{ id: number; project_id: number; item_id: number; user_id: number; status: string; swapped: number }>(
      `SELECT id, project_id, item_id, user_id, status, swapped FROM assignments WHERE id = $1${db.dialect === 'postgres' ? ' FOR UPDATE' : ''}`,
      [assignmentId],
    );
    // Another's assignment gets the same answer as a missing one: ids reveal nothing about others' work.
    if (!a || a.user_id !== userId) throw new AssignmentError('not-found', notYourAssignment(assignmentId));
    if (a.status !== 'open') throw new AssignmentError('already-answered', `assignment ${assignmentId} was already answered`);
    const row = await tx.get<{ id: number }>(
      `INSERT INTO labels (assignment_id, project_id, item_id, user_id, better, safer, safe_0, safe_1, categories_0, categories_1,
         severity_0, severity_1, swapped, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
      [
        a.id,
        a.project_id,
        a.item_id,
        userId,
        label.better,
        label.safer,
        label.isSafe[0] ? 1 : 0,
        label.isSafe[1] ? 1 : 0,
        JSON.stringify(label.categories[0]),
        JSON.stringify(label.categories[1]),
        label.severity[0],
        label.severity[1],
        a.swapped,
        new Date().toISOString(),
      ],
    );
    await tx.run(`UPDATE assignments SET status = 'done', completed_at = $1 WHERE id = $2`, [new Date().toISOString(), a.id]);
    return (row as { id: number }).id;
  });
}

export interface BatchProgress {
  batchId: number;
  batchName: string;
  /** Assignments this user has answered towards the batch: its task pairs and the gold items mixed in. */
  done: number;
  /**
   * Planned assignments: the batch's pairs open to this user (answered, open, still available)
   * with the project's share of gold added (pairs / (1 - goldShare)); once nothing is left,
   * `done`. Computed from pairs alone, so it does not move when a gold item is served.
   */
  total: number;
}

/**
 * Progress of the user in their current task batch (the batch of the open assignment, else the
 * first batch with work left for them, else the last one they worked on).
 */
export async function batchProgress(db: SqlRunner, project: Project, userId: number): Promise<BatchProgress | undefined> {
  const n = project.settings.annotatorsPerPair;
  const lastWorkedOn = (status: string): Promise<{ batch_id: number } | undefined> =>
    db.get<{ batch_id: number }>(
      `SELECT batch_id FROM assignments WHERE project_id = $1 AND user_id = $2 AND batch_id IS NOT NULL AND status LIKE $3 ORDER BY id DESC LIMIT 1`,
      [project.id, userId, status],
    );
  const batchId = (await lastWorkedOn('open'))?.batch_id ?? (await batchWithWork(db, project, userId)) ?? (await lastWorkedOn('%'))?.batch_id;
  if (batchId === undefined) return undefined;
  const r = (await db.get<{ name: string; done: number; open: number; tasks_taken: number; available: number }>(
    `SELECT b.name,
       CAST((SELECT COUNT(*) FROM assignments a WHERE a.batch_id = b.id AND a.user_id = $2 AND a.status = 'done') AS INTEGER) AS done,
       CAST((SELECT COUNT(*) FROM assignments a WHERE a.batch_id = b.id AND a.user_id = $2 AND a.status = 'open') AS INTEGER) AS open,
       CAST((SELECT COUNT(*) FROM assignments a JOIN items i ON i.id = a.item_id
             WHERE a.batch_id = b.id AND a.user_id = $2 AND i.kind = 'task') AS INTEGER) AS tasks_taken,
       CAST((SELECT COUNT(*) FROM items i WHERE i.batch_id = b.id AND i.kind = 'task' AND i.assigned_count < $3
             AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = i.id AND a.user_id = $2)) AS INTEGER) AS available
     FROM batches b WHERE b.id = $1`,
    [batchId, userId, n],
  )) as { name: string; done: number; open: number; tasks_taken: number; available: number };
  const share = project.settings.goldShare;
  const planned = share < 1 ? Math.round((r.tasks_taken + r.available) / (1 - share)) : r.tasks_taken + r.available;
  const finished = r.open === 0 && r.available === 0;
  const total = finished ? r.done : Math.max(planned, r.done + r.open + r.available);
  return { batchId, batchName: r.name, done: r.done, total };
}
