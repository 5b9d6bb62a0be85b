// Admin routes that generate a batch of pairs from model checkpoints in the background, and report on the job.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SqlDriver } from '../db/driver.js';
import { HttpError, parseInput } from '../http-errors.js';
import type { GenerationJobs } from '../jobs.js';
import { currentUser } from '../security.js';
import { plainText, projectParam } from './admin.js';

/** Most prompts in one generated batch. */
const MAX_PROMPTS = 5000;

const GenerateBody = z
  .object({
    name: plainText(200),
    modelA: plainText(500),
    modelB: z.union([plainText(500), z.literal('')]).optional(),
    /** One prompt per line. */
    prompts: z.string().min(1).max(5_000_000),
    maxNewTokens: z.number().int().min(1).max(1024).default(64),
    temperature: z.number().positive().max(10).default(1),
    topP: z.number().positive().max(1).default(1),
    seed: z.number().int().min(0).default(0),
  })
  .strict();

const JobParams = z.object({ id: z.coerce.number().int().positive() }).strict();

/** `bodyLimit`: bytes of a generation request (its prompts); other routes keep the server's small default. */
export function generateRoutes(app: FastifyInstance, db: SqlDriver, jobs: GenerationJobs, bodyLimit: number): void {
  const admin = { access: ['admin'] as const };

  app.post('/api/projects/:projectId/batches/generate', { config: admin, bodyLimit }, async (req, reply) => {
    const project = await projectParam(db, req.params, currentUser(req));
    const body = parseInput(GenerateBody, req.body, 'body');
    const prompts = body.prompts
      .split(/\r?\n/)
      .map((p) => p.trim())
      .filter(Boolean);
    if (prompts.length === 0) throw new HttpError(400, 'body.prompts: expected one prompt per line, found none');
    if (prompts.length > MAX_PROMPTS) throw new HttpError(400, `body.prompts: ${prompts.length} prompts; the limit is ${MAX_PROMPTS} per batch`);
    const job = await jobs.start(project, { ...body, modelB: body.modelB || undefined, prompts }, currentUser(req).id);
    return reply.status(202).send({ job });
  });

  app.get('/api/jobs/:id', { config: admin }, async (req) => {
    const { id } = parseInput(JobParams, req.params, 'path');
    const job = await jobs.get(id);
    if (!job) throw new HttpError(404, `job ${id} does not exist`);
    return { job };
  });

  app.get('/api/projects/:projectId/jobs', { config: admin }, async (req) => {
    const project = await projectParam(db, req.params, currentUser(req));
    return { jobs: await jobs.list(project.id) };
  });
}
