// Project membership: the annotators assigned to a project (admins and reviewers see every project).
import type { SqlRunner } from '../db/driver.js';
import type { User } from '../model.js';

export interface Member {
  userId: number;
  username: string;
  disabled: boolean;
  /** Null for members carried over from work done before membership existed (migration 6). */
  addedAt: string | null;
}

/** Whether `user` may see project `projectId`: every admin and reviewer, and the annotators who are members. */
export async function canSeeProject(db: SqlRunner, user: User, projectId: number): Promise<boolean> {
  if (user.role !== 'annotator') return true;
  return (await db.get('SELECT 1 AS one FROM project_members WHERE project_id = $1 AND user_id = $2', [projectId, user.id])) !== undefined;
}

/** The ids of the projects an annotator is a member of. */
export async function memberProjectIds(db: SqlRunner, userId: number): Promise<Set<number>> {
  const rows = await db.all<{ project_id: number }>('SELECT project_id FROM project_members WHERE user_id = $1', [userId]);
  return new Set(rows.map((r) => r.project_id));
}

export async function listMembers(db: SqlRunner, projectId: number): Promise<Member[]> {
  const rows = await db.all<{ user_id: number; username: string; disabled: number; added_at: string | null }>(
    `SELECT m.user_id, u.username, u.disabled, m.added_at FROM project_members m JOIN users u ON u.id = m.user_id
     WHERE m.project_id = $1 ORDER BY u.username`,
    [projectId],
  );
  return rows.map((r) => ({ userId: r.user_id, username: r.username, disabled: r.disabled === 1, addedAt: r.added_at }));
}

/** Adds a member (no change when it already is one); returns whether a row was added. */
export async function addMember(db: SqlRunner, projectId: number, userId: number, addedBy: number): Promise<boolean> {
  const r = await db.run(
    `INSERT INTO project_members (project_id, user_id, added_by, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, user_id) DO NOTHING`,
    [projectId, userId, addedBy, new Date().toISOString()],
  );
  return r.changes === 1;
}

/** Removes a member; returns whether it was one. Its open assignment is released by the assignment timeout. */
export async function removeMember(db: SqlRunner, projectId: number, userId: number): Promise<boolean> {
  return (await db.run('DELETE FROM project_members WHERE project_id = $1 AND user_id = $2', [projectId, userId])).changes === 1;
}
