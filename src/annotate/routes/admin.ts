// Admin routes: accounts, projects, batch imports, the dashboard statistics and the exports.
import bcrypt from 'bcryptjs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SecurityConfig } from '../config.js';
import type { SqlDriver } from '../db/driver.js';
import { buildExport } from '../export.js';
import { HttpError, parseInput } from '../http-errors.js';
import { loadImportImages, parseImport } from '../import.js';
import { passwordProblem } from '../passwords.js';
import { normaliseUsername, usernameProblem } from '../usernames.js';
import { ITEM_KINDS, ProjectSettingsSchema, ROLES, type Project, type ProjectSettings, type Role, type User } from '../model.js';
import { projectStats } from '../stats.js';
import { createUser, getUser, listUsers, setDisabled } from '../store/accounts.js';
import { addMember, canSeeProject, listMembers, memberProjectIds, removeMember } from '../store/members.js';
import { assignmentCounts, projectItems, projectLabels, qualificationResults } from '../store/labels.js';
import { decisionsOf, tieDecisions } from '../store/ties.js';
import { createProject, getProject, importBatch, listBatches, listProjects } from '../store/projects.js';
import { currentUser } from '../security.js';

/** Printable text without control characters (names, notes). */
export const plainText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'control characters are not allowed');

const CreateUserBody = z
  .object({
    username: z
      .string()
      .max(200)
      .transform(normaliseUsername)
      .superRefine((name, ctx) => {
        const problem = usernameProblem(name);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    password: z.string().max(200),
    role: z.enum(ROLES),
  })
  .strict()
  .superRefine((u, ctx) => {
    const problem = passwordProblem(u.password, u.username);
    if (problem) ctx.addIssue({ code: 'custom', path: ['password'], message: problem });
  });

const CreateProjectBody = z
  .object({
    name: plainText(200),
    settings: ProjectSettingsSchema.partial().strict().default({}),
  })
  .strict();

const ImportBody = z
  .object({
    name: plainText(200),
    kind: z.enum(ITEM_KINDS).default('task'),
    jsonl: z.string().min(1),
  })
  .strict();

const MemberParams = z.object({ projectId: z.coerce.number().int().positive(), userId: z.coerce.number().int().positive(), action: z.enum(['add', 'remove']) }).strict();

const UserActionParams = z.object({ userId: z.coerce.number().int().positive(), action: z.enum(['disable', 'enable']) }).strict();

export const ProjectParams = z.object({ projectId: z.coerce.number().int().positive() }).strict();

const ExportQuery = z
  .object({
    kind: z.enum(['aggregated', 'raw']).default('aggregated'),
    minLabels: z.coerce.number().int().min(1).max(50).optional(),
  })
  .strict();

/** Settings an annotator does not see: how much of their work is gold or audited would help them game both. */
const HIDDEN_FROM_ANNOTATORS = ['goldShare', 'auditShare'] as const;

/** A project as the role may see it. */
function projectView<P extends { settings: ProjectSettings }>(project: P, role: Role): P | (Omit<P, 'settings'> & { settings: Partial<ProjectSettings> }) {
  if (role !== 'annotator') return project;
  const settings: Partial<ProjectSettings> = { ...project.settings };
  for (const key of HIDDEN_FROM_ANNOTATORS) delete settings[key];
  return { ...project, settings };
}

/**
 * The project of the `:projectId` parameter as `user` may see it, or a 404: an annotator who is
 * not a member gets the same answer as for a project that does not exist.
 */
export async function projectParam(db: SqlDriver, params: unknown, user: User): Promise<Project> {
  const { projectId } = parseInput(ProjectParams, params, 'path');
  const project = await getProject(db, projectId);
  if (!project || !(await canSeeProject(db, user, projectId))) throw new HttpError(404, `project ${projectId} does not exist`);
  return project;
}

/**
 * `importBodyLimit`: bytes of a batch import (every other route keeps the server's small default); `imageDir`: the folder
 * image paths of an import are read in (none: only base64 images).
 */
export function adminRoutes(app: FastifyInstance, db: SqlDriver, config: SecurityConfig, importBodyLimit: number, imageDir?: string): void {
  const admin = { access: ['admin'] as const };

  app.get('/api/users', { config: admin }, async () => ({ users: await listUsers(db) }));

  app.post('/api/users', { config: admin }, async (req, reply) => {
    const body = parseInput(CreateUserBody, req.body, 'body');
    const passwordHash = await bcrypt.hash(body.password, config.bcryptRounds);
    const user = await createUser(db, { username: body.username, passwordHash, role: body.role });
    return reply.status(201).send({ user });
  });

  // Disabling ends every session of the account at once; an admin cannot disable themself.
  app.post('/api/users/:userId/:action', { config: admin }, async (req) => {
    const { userId, action } = parseInput(UserActionParams, req.params, 'path');
    if (action === 'disable' && userId === currentUser(req).id) throw new HttpError(409, 'you cannot disable your own account');
    if (!(await setDisabled(db, userId, action === 'disable'))) throw new HttpError(404, `user ${userId} does not exist`);
    return { user: await getUser(db, userId) };
  });

  app.get('/api/projects', { config: { access: 'signed-in' } }, async (req) => {
    const user = currentUser(req);
    const visible = user.role === 'annotator' ? await memberProjectIds(db, user.id) : undefined;
    const projects = (await listProjects(db)).filter((p) => !visible || visible.has(p.id));
    return { projects: projects.map((p) => projectView(p, user.role)) };
  });

  app.get('/api/projects/:projectId', { config: { access: 'signed-in' } }, async (req) => ({
    project: projectView(await projectParam(db, req.params, currentUser(req)), currentUser(req).role),
  }));

  app.post('/api/projects', { config: admin }, async (req, reply) => {
    const body = parseInput(CreateProjectBody, req.body, 'body');
    const project = await createProject(db, body.name, ProjectSettingsSchema.parse(body.settings), currentUser(req).id);
    return reply.status(201).send({ project });
  });

  app.get('/api/projects/:projectId/members', { config: admin }, async (req) => {
    const project = await projectParam(db, req.params, currentUser(req));
    return { members: await listMembers(db, project.id) };
  });

  // Only annotators are members: admins and reviewers see every project.
  app.post('/api/projects/:projectId/members/:userId/:action', { config: admin }, async (req) => {
    const { projectId, userId, action } = parseInput(MemberParams, req.params, 'path');
    const project = await projectParam(db, { projectId }, currentUser(req));
    const user = await getUser(db, userId);
    if (!user) throw new HttpError(404, `user ${userId} does not exist`);
    if (user.role !== 'annotator') throw new HttpError(400, `user '${user.username}' is a ${user.role}; only annotators are project members (admins and reviewers see every project)`);
    if (action === 'add') await addMember(db, project.id, userId, currentUser(req).id);
    else await removeMember(db, project.id, userId);
    return { members: await listMembers(db, project.id) };
  });

  app.get('/api/projects/:projectId/batches', { config: admin }, async (req) => {
    const project = await projectParam(db, req.params, currentUser(req));
    return { batches: await listBatches(db, project.id) };
  });

  app.post('/api/projects/:projectId/batches', { config: admin, bodyLimit: importBodyLimit }, async (req, reply) => {
    const project = await projectParam(db, req.params, currentUser(req));
    const body = parseInput(ImportBody, req.body, 'body');
    const items = parseImport(body.jsonl, body.kind);
    await loadImportImages(items, { imageDir });
    const batch = await importBatch(db, project, { name: body.name, kind: body.kind, source: 'upload', items }, currentUser(req).id);
    return reply.status(201).send({ batch });
  });

  app.get('/api/projects/:projectId/stats', { config: { access: ['admin', 'reviewer'] as const } }, async (req) => {
    const project = await projectParam(db, req.params, currentUser(req));
    const [items, labels, quals, assignments, decisions] = await Promise.all([
      projectItems(db, project.id),
      projectLabels(db, project.id),
      qualificationResults(db, project.id),
      assignmentCounts(db, project.id),
      tieDecisions(db, project.id),
    ]);
    return { project, stats: projectStats(items, labels, quals, assignments, project.settings.annotatorsPerPair, decisionsOf(decisions)) };
  });

  app.get('/api/projects/:projectId/export', { config: admin }, async (req, reply) => {
    const project = await projectParam(db, req.params, currentUser(req));
    const query = parseInput(ExportQuery, req.query, 'query');
    const [items, labels, decisions] = await Promise.all([projectItems(db, project.id), projectLabels(db, project.id), tieDecisions(db, project.id)]);
    const out = buildExport(items, labels, query.kind, query.minLabels ?? project.settings.annotatorsPerPair, decisionsOf(decisions));
    const slug = project.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60) || 'project';
    const file = `${slug}-${project.id}-${query.kind === 'raw' ? 'raw-labels' : 'pku-saferlhf'}.jsonl`;
    void reply.header('content-type', 'application/jsonl; charset=utf-8');
    void reply.header('content-disposition', `attachment; filename="${file}"`);
    void reply.header('x-safealign-rows', String(out.rows));
    void reply.header('x-safealign-tied', String(out.tied));
    void reply.header('x-safealign-incomplete', String(out.incomplete));
    return out.text;
  });
}
