// Annotator and reviewer routes: qualification test, next assignment, label submission, progress, audit queue.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { SqlDriver } from '../db/driver.js';
import { HttpError, parseInput } from '../http-errors.js';
import { QUALIFICATION_BODY_LIMIT } from '../limits.js';
import { LabelSubmissionSchema, submissionToLabel, type Project } from '../model.js';
import { batchProgress, getAssignment, itemImage, itemImageUrl, itemsWithImages, nextAssignment, notYourAssignment, submitLabel, type Assignment } from '../store/assignments.js';
import { canSeeProject } from '../store/members.js';
import { getProject } from '../store/projects.js';
import { projectItems, projectLabels } from '../store/labels.js';
import { recordTieDecision, tieDecisions } from '../store/ties.js';
import { resolveByMajority, type TieDecision } from '../aggregate.js';
import { countedLabels, labelsByItem } from '../export.js';
import { attemptHasItem, auditQueue, qualificationStatus, recordAudit, startQualification, submitQualification } from '../store/quality.js';
import { currentUser } from '../security.js';
import { plainText, projectParam } from './admin.js';

const IdParams = z.object({ id: z.coerce.number().int().positive() }).strict();
const AttemptParams = z.object({ projectId: z.coerce.number().int().positive(), attemptId: z.coerce.number().int().positive() }).strict();
const AttemptItemParams = AttemptParams.extend({ itemId: z.coerce.number().int().positive() }).strict();
const TieParams = z.object({ projectId: z.coerce.number().int().positive(), itemId: z.coerce.number().int().positive() }).strict();
const AuditParams = z.object({ projectId: z.coerce.number().int().positive(), labelId: z.coerce.number().int().positive() }).strict();

const QualificationBody = z
  .object({ answers: z.array(z.object({ itemId: z.number().int().positive(), answer: LabelSubmissionSchema }).strict()).min(1).max(1000) })
  .strict();
/** A decision on exactly the judgements that are tied (response ids 0/1; safeN: response N is safe). */
const TieBody = z
  .object({
    better: z.union([z.literal(0), z.literal(1)]).optional(),
    safer: z.union([z.literal(0), z.literal(1)]).optional(),
    safe0: z.boolean().optional(),
    safe1: z.boolean().optional(),
    note: z.union([plainText(2000), z.literal('')]).default(''),
  })
  .strict();
const AuditBody = z.object({ verdict: z.enum(['approved', 'rejected']), note: z.union([plainText(2000), z.literal('')]).default('') }).strict();

/** What an annotator sees of an assignment: the pair in display order (and where its image is), nothing about gold or order. */
function assignmentView(a: Assignment): { id: number; projectId: number; prompt: string; left: string; right: string; status: string; image?: string } {
  const [left, right] = a.swapped ? [a.responses[1], a.responses[0]] : a.responses;
  return { id: a.id, projectId: a.projectId, prompt: a.prompt, left, right, status: a.status, ...(a.hasImage ? { image: `/api/assignments/${a.id}/image` } : {}) };
}

async function requireQualified(db: SqlDriver, project: Project, userId: number): Promise<void> {
  const q = await qualificationStatus(db, project, userId);
  if (!q.passed) throw new HttpError(403, 'pass the qualification test of this project first');
}

export function workRoutes(app: FastifyInstance, db: SqlDriver): void {
  const annotator = { access: ['annotator'] as const };
  const reviewer = { access: ['reviewer', 'admin'] as const };

  app.get('/api/projects/:projectId/qualification', { config: annotator }, async (req) => {
    const project = await projectParam(db, req.params, currentUser(req));
    return { qualification: await qualificationStatus(db, project, currentUser(req).id) };
  });

  app.post('/api/projects/:projectId/qualification/start', { config: annotator }, async (req) => {
    const project = await projectParam(db, req.params, currentUser(req));
    return { test: await startQualification(db, project, currentUser(req).id) };
  });

  app.post('/api/projects/:projectId/qualification/:attemptId', { config: annotator, bodyLimit: QUALIFICATION_BODY_LIMIT }, async (req) => {
    const { projectId, attemptId } = parseInput(AttemptParams, req.params, 'path');
    const project = await projectParam(db, { projectId }, currentUser(req));
    const body = parseInput(QualificationBody, req.body, 'body');
    return { result: await submitQualification(db, project, currentUser(req).id, attemptId, body.answers) };
  });

  // A pair's image, to reviewers and admins who see the project (the audit queue, the tie page).
  app.get('/api/projects/:projectId/items/:itemId/image', { config: reviewer }, async (req, reply) => {
    const { projectId, itemId } = parseInput(TieParams, req.params, 'path');
    const project = await projectParam(db, { projectId }, currentUser(req));
    const image = (await itemsWithImages(db, project.id)).has(itemId) ? await itemImage(db, itemId) : undefined;
    if (!image) throw new HttpError(404, `pair ${itemId} of project ${project.id} has no image`);
    return reply.type(image.contentType).header('content-disposition', 'inline').send(image.data);
  });

  // A qualification pair's image, to the annotator whose attempt holds the pair (the same answer as a missing one to anyone else).
  app.get('/api/projects/:projectId/qualification/:attemptId/items/:itemId/image', { config: annotator }, async (req, reply) => {
    const { projectId, attemptId, itemId } = parseInput(AttemptItemParams, req.params, 'path');
    const project = await projectParam(db, { projectId }, currentUser(req));
    const image = (await attemptHasItem(db, project.id, currentUser(req).id, attemptId, itemId)) ? await itemImage(db, itemId) : undefined;
    if (!image) throw new HttpError(404, `no image of pair ${itemId} in your qualification attempt ${attemptId}`);
    return reply.type(image.contentType).header('content-disposition', 'inline').send(image.data);
  });

  app.post('/api/projects/:projectId/assignments/next', { config: annotator }, async (req) => {
    const project = await projectParam(db, req.params, currentUser(req));
    const user = currentUser(req);
    await requireQualified(db, project, user.id);
    const a = await nextAssignment(db, project, user.id);
    return { assignment: a ? assignmentView(a) : null, progress: (await batchProgress(db, project, user.id)) ?? null };
  });

  app.get('/api/projects/:projectId/progress', { config: annotator }, async (req) => {
    const project = await projectParam(db, req.params, currentUser(req));
    return { progress: (await batchProgress(db, project, currentUser(req).id)) ?? null };
  });

  /** The assignment `id` if the user may read it: annotators their own (while members of its project), admins any. */
  const readableAssignment = async (req: FastifyRequest): Promise<Assignment> => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const a = await getAssignment(db, id);
    const user = currentUser(req);
    // Another's assignment gets the same answer as a missing one: ids reveal nothing about others' work.
    if (!a || (user.role !== 'admin' && (a.userId !== user.id || !(await canSeeProject(db, user, a.projectId))))) throw new HttpError(404, notYourAssignment(id));
    return a;
  };

  app.get('/api/assignments/:id', { config: { access: ['annotator', 'admin'] as const } }, async (req) => ({ assignment: assignmentView(await readableAssignment(req)) }));

  // The pair's image, to whoever may read the assignment: the stored bytes with the type their content was checked to be.
  app.get('/api/assignments/:id/image', { config: { access: ['annotator', 'admin'] as const } }, async (req, reply) => {
    const a = await readableAssignment(req);
    const image = await itemImage(db, a.itemId);
    if (!image) throw new HttpError(404, `assignment ${a.id} has no image`);
    return reply.type(image.contentType).header('content-disposition', 'inline').send(image.data);
  });

  app.post('/api/assignments/:id/label', { config: annotator }, async (req) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const body = parseInput(LabelSubmissionSchema, req.body, 'body');
    const user = currentUser(req);
    const a = await getAssignment(db, id);
    // A member no more: the assignment is as gone as another's.
    if (!a || a.userId !== user.id || !(await canSeeProject(db, user, a.projectId))) throw new HttpError(404, notYourAssignment(id));
    // Committed before we answer: an acknowledged label survives a crash.
    const labelId = await submitLabel(db, id, user.id, submissionToLabel(body, a.swapped));
    const project = (await getProject(db, a.projectId)) as Project;
    return { labelId, progress: (await batchProgress(db, project, user.id)) ?? null };
  });

  /** The project's complete task pairs whose vote is tied, with every counted vote and the decision if any. */
  const tiedPairs = async (project: Project) => {
    const [items, labels, decisions, images] = await Promise.all([projectItems(db, project.id), projectLabels(db, project.id), tieDecisions(db, project.id), itemsWithImages(db, project.id)]);
    const byItem = labelsByItem(countedLabels(labels));
    return items.flatMap((item) => {
      const ls = byItem.get(item.id) ?? [];
      if (item.kind !== 'task' || ls.length < project.settings.annotatorsPerPair) return [];
      const { ties } = resolveByMajority(ls.map((l) => l.label));
      if (ties.length === 0) return [];
      const votes = ls.map((l) => ({ annotator: l.username, better: l.label.better, safer: l.label.safer, safe0: l.label.isSafe[0], safe1: l.label.isSafe[1] }));
      return [{ itemId: item.id, prompt: item.prompt, responses: item.responses, ties, votes, decision: decisions.get(item.id) ?? null, ...(images.has(item.id) ? { image: itemImageUrl(project.id, item.id) } : {}) }];
    });
  };

  app.get('/api/projects/:projectId/ties', { config: reviewer }, async (req) => {
    const project = await projectParam(db, req.params, currentUser(req));
    return { ties: await tiedPairs(project) };
  });

  // A decision settles exactly the tied judgements of a complete pair; it never overrules a majority.
  app.post('/api/projects/:projectId/ties/:itemId', { config: reviewer }, async (req) => {
    const { projectId, itemId } = parseInput(TieParams, req.params, 'path');
    const project = await projectParam(db, { projectId }, currentUser(req));
    const { note, ...decision } = parseInput(TieBody, req.body, 'body');
    const pair = (await tiedPairs(project)).find((p) => p.itemId === itemId);
    if (!pair) throw new HttpError(404, `pair ${itemId} of project ${projectId} is not a complete pair with a tied judgement`);
    const given = Object.keys(decision).sort();
    if (given.join() !== [...pair.ties].sort().join()) {
      throw new HttpError(400, `decide exactly the tied judgements of pair ${itemId}: ${pair.ties.join(', ')} (got ${given.join(', ') || 'none'})`);
    }
    await recordTieDecision(db, project.id, itemId, decision as TieDecision, note, currentUser(req).id);
    return { tie: (await tiedPairs(project)).find((p) => p.itemId === itemId) };
  });

  app.get('/api/projects/:projectId/audits', { config: reviewer }, async (req) => {
    const project = await projectParam(db, req.params, currentUser(req));
    return { queue: await auditQueue(db, project.id) };
  });

  app.post('/api/projects/:projectId/audits/:labelId', { config: reviewer }, async (req) => {
    const { projectId, labelId } = parseInput(AuditParams, req.params, 'path');
    const body = parseInput(AuditBody, req.body, 'body');
    await recordAudit(db, projectId, labelId, currentUser(req).id, body.verdict, body.note);
    return { ok: true };
  });
}
