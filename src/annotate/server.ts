// Builds the annotation server (fastify): security hooks, JSON API under /api, the page at /.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import { SecuritySchema, trustProxySetting, type SecurityConfig } from './config.js';
import type { SqlDriver } from './db/driver.js';
import { errorHandler, HttpError } from './http-errors.js';
import { accountRoutes } from './routes/account.js';
import { adminRoutes } from './routes/admin.js';
import { DEFAULT_JOB_TIMING, GenerationJobs, type JobTiming } from './jobs.js';
import { DEFAULT_BODY_LIMIT, LARGE_BODY_LIMIT } from './limits.js';
import { authRoutes } from './routes/auth.js';
import { generateRoutes } from './routes/generate.js';
import { workRoutes } from './routes/work.js';
import { installSecurity } from './security.js';

export interface AnnotationServerOptions {
  /** An open, migrated database (see `openDatabase`). The caller closes it after the server. */
  db: SqlDriver;
  security?: Partial<SecurityConfig>;
  /** Largest body in bytes of an import or generation request (the only large ones); default 50 MB. */
  bodyLimit?: number;
  /** Log requests (pino JSON on stderr). */
  logger?: boolean;
  /** Folder holding model checkpoints that admins may generate pairs with; unset: generation off. */
  modelsDir?: string;
  /** Folder that image paths of imported pairs are read in (never outside it); unset: images only as base64 in the line. */
  imageDir?: string;
  /** When generation jobs left by a stopped server are taken over (defaults: `DEFAULT_JOB_TIMING`). */
  jobTiming?: Partial<JobTiming>;
}

/** The page: file name under web/ -> content type. */
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'core.js': 'text/javascript; charset=utf-8',
  'accounts.js': 'text/javascript; charset=utf-8',
  'members.js': 'text/javascript; charset=utf-8',
  'ties.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** The page's content security policy: only our own script and style, no inline code, no framing. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function loadAssets(): Map<string, Buffer> {
  const dir = fileURLToPath(new URL('./web/', import.meta.url));
  return new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(`${dir}${name}`)]));
}

/**
 * Creates the server without listening (`await app.listen({ port, host })`, or `app.inject` in
 * tests). Every route declares who may call it; state-changing requests need a CSRF token.
 */
export async function createAnnotationServer(opts: AnnotationServerOptions): Promise<FastifyInstance> {
  const security = SecuritySchema.parse(opts.security ?? {});
  const app = Fastify({
    logger: opts.logger ?? false,
    // Small by default; the routes that take files (imports, generation) raise their own limit.
    bodyLimit: DEFAULT_BODY_LIMIT,
    trustProxy: trustProxySetting(security.trustProxy),
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no such route: ${req.method} ${req.url.split('?')[0]}` });
  });
  app.addHook('onSend', async (req, reply) => {
    void reply.header('content-security-policy', CSP);
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('referrer-policy', 'no-referrer');
    if (req.url.startsWith('/api/')) void reply.header('cache-control', 'no-store');
  });
  await app.register(fastifyRateLimit, { global: false });
  await installSecurity(app, opts.db, security);

  const assets = loadAssets();
  const page = { access: 'public' as const };
  app.get('/', { config: page }, async (_req, reply) => reply.type(ASSETS['index.html'] as string).send(assets.get('index.html')));
  app.get('/assets/:name', { config: page }, async (req, reply) => {
    const name = (req.params as { name: string }).name;
    const body = assets.get(name);
    if (!body || name === 'index.html') throw new HttpError(404, `no such asset: ${name}`);
    return reply.type(ASSETS[name] as string).send(body);
  });

  const jobs = new GenerationJobs(opts.db, opts.modelsDir, { ...DEFAULT_JOB_TIMING, ...opts.jobTiming });
  app.addHook('onClose', async () => jobs.close());
  // Jobs a previous run left queued or running start again (or are marked failed with the reason).
  await jobs.startResuming();

  const largeBodyLimit = opts.bodyLimit ?? LARGE_BODY_LIMIT;
  authRoutes(app, opts.db, security);
  accountRoutes(app, opts.db, security);
  adminRoutes(app, opts.db, security, largeBodyLimit, opts.imageDir);
  workRoutes(app, opts.db);
  generateRoutes(app, opts.db, jobs, largeBodyLimit);
  return app;
}
