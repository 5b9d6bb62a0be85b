// Annotator and reviewer routes: qualification test, next assignment, label submission, progress, audit queue.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SqlDriver } from '../db/driver.js';
import { HttpError, parseInput } from '../http-errors.js';
import { QUALIFICATION_BODY_LIMIT } from '../limits.js';
import { LabelSubmissionSchema, submissionToLabel, type Project } from '../model.js';
import { batchProgress, getAssignment, nextAssignment, notYourAssignment, submitLabel, type Assignment } from '../store/assignments.js';
import { canSeeProject } from '../store/members.js';
import { getProject } from '../store/projects.js';
import { auditQueue, qualificationStatus, recordAudit, startQualification, submitQualification } from '../store/quality.js';
import { currentUser } from '../security.js';
import { plainText, projectParam } from './admin.js';

const IdParams = z.object({ id: z.coerce.number().int().positive() }).strict();
const AttemptParams = z.object({ projectId: z.coerce.number().int().positive(), attemptId: z.coerce.number().int().positive() }).strict();
const AuditParams = z.object({ projectId: z.coerce.number().int().positive(), labelId: z.coerce.number().int().positive() }).strict();

const QualificationBody = z
  .object({ answers: z.array(z.object({ itemId: z.number().int().positive(), answer: LabelSubmissionSchema }).strict()).min(1).max(1000) })
  .strict();
const AuditBody = z.object({ verdict: z.enum(['approved', 'rejected']), note: z.union([plainText(2000), z.literal('')]).default('') }).strict();

/** What an annotator sees of an assignment: the pair in display order, nothing about gold or order. */
function assignmentView(a: Assignment): { id: number; projectId: number; prompt: string; left: string; right: string; status: string } {
  const [left, right] = a.swapped ? [a.responses[1], a.responses[0]] : a.responses;
  return { id: a.id, projectId: a.projectId, prompt: a.prompt, left, right, status: a.status };
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

  // Annotators read only their own assignments; admins may read any.
  app.get('/api/assignments/:id', { config: { access: ['annotator', 'admin'] as const } }, async (req) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const a = await getAssignment(db, id);
    const user = currentUser(req);
    // Another's assignment gets the same answer as a missing one: ids reveal nothing about others' work.
    if (!a || (user.role !== 'admin' && (a.userId !== user.id || !(await canSeeProject(db, user, a.projectId))))) throw new HttpError(404, notYourAssignment(id));
    return { assignment: assignmentView(a) };
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
