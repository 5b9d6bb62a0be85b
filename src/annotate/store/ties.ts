// Decisions on tied judgements: a reviewer or admin settles what the vote left open; the export and statistics use them.
import type { SqlRunner } from '../db/driver.js';
import type { TieDecision } from '../aggregate.js';
import type { ResponseId } from '../../data/record.js';

export interface RecordedDecision {
  decision: TieDecision;
  note: string;
  decidedBy: string;
  decidedAt: string;
}

interface DecisionRow {
  item_id: number;
  better: number | null;
  safer: number | null;
  safe_0: number | null;
  safe_1: number | null;
  note: string;
  username: string;
  decided_at: string;
}

function decisionOfRow(r: DecisionRow): TieDecision {
  const d: TieDecision = {};
  if (r.better !== null) d.better = r.better as ResponseId;
  if (r.safer !== null) d.safer = r.safer as ResponseId;
  if (r.safe_0 !== null) d.safe0 = r.safe_0 === 1;
  if (r.safe_1 !== null) d.safe1 = r.safe_1 === 1;
  return d;
}

/** Every decision of a project, by item id. */
export async function tieDecisions(db: SqlRunner, projectId: number): Promise<Map<number, RecordedDecision>> {
  const rows = await db.all<DecisionRow>(
    `SELECT d.item_id, d.better, d.safer, d.safe_0, d.safe_1, d.note, u.username, d.decided_at
     FROM tie_decisions d JOIN users u ON u.id = d.decided_by WHERE d.project_id = $1`,
    [projectId],
  );
  return new Map(rows.map((r) => [r.item_id, { decision: decisionOfRow(r), note: r.note, decidedBy: r.username, decidedAt: r.decided_at }]));
}

/** Records (or replaces) the decision on a pair's ties, with who made it and when. */
export async function recordTieDecision(db: SqlRunner, projectId: number, itemId: number, decision: TieDecision, note: string, userId: number): Promise<void> {
  const bit = (b: boolean | undefined): number | null => (b === undefined ? null : b ? 1 : 0);
  await db.run(
    `INSERT INTO tie_decisions (item_id, project_id, better, safer, safe_0, safe_1, note, decided_by, decided_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (item_id) DO UPDATE SET better = excluded.better, safer = excluded.safer, safe_0 = excluded.safe_0,
       safe_1 = excluded.safe_1, note = excluded.note, decided_by = excluded.decided_by, decided_at = excluded.decided_at`,
    [itemId, projectId, decision.better ?? null, decision.safer ?? null, bit(decision.safe0), bit(decision.safe1), note, userId, new Date().toISOString()],
  );
}

/** The decisions alone, by item id (what the resolution needs). */
export function decisionsOf(recorded: ReadonlyMap<number, RecordedDecision>): Map<number, TieDecision> {
  return new Map([...recorded].map(([id, r]) => [id, r.decision]));
}
