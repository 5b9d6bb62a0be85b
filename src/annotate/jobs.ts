// Background generation jobs of the server: a child process per job writes pairs, which are then imported as a batch.
// Jobs live in the database, so a restarted server (or another one on the same database) resumes them.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlDriver } from './db/driver.js';
import type { ChildMessage } from './generate-child.js';
import type { GeneratePairsOptions } from './generate-pairs.js';
import { HttpError } from './http-errors.js';
import type { Project } from './model.js';
import { getBatch, getProject, insertBatch, type Batch } from './store/projects.js';

export interface GenerationRequest {
  name: string;
  /** Model folders relative to the server's models folder. */
  modelA: string;
  modelB?: string | undefined;
  prompts: string[];
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}

export const JOB_STATUSES = ['queued', 'running', 'done', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface GenerationJob {
  id: number;
  projectId: number;
  name: string;
  /** queued: waiting for a server to run it (after a restart); running: a child process is generating. */
  status: JobStatus;
  /** Responses written so far and in all (two per prompt). */
  done: number;
  total: number;
  batch: Batch | null;
  error: string | null;
  /** How many times a server has started it (more than 1: it was resumed after a restart). */
  runs: number;
  startedAt: string;
  finishedAt: string | null;
}

/** The compiled child script (dist) or, when running from source, the TypeScript one through tsx. */
function childScript(): { file: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./generate-child.js', import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: [] };
  return { file: fileURLToPath(new URL('./generate-child.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}

interface JobRow {
  id: number;
  project_id: number;
  name: string;
  request: string;
  status: JobStatus;
  done: number;
  total: number;
  batch_id: number | null;
  error: string | null;
  runs: number;
  created_by: number | null;
  started_at: string;
  finished_at: string | null;
}

const JOB_COLUMNS = 'id, project_id, name, request, status, done, total, batch_id, error, runs, created_by, started_at, finished_at';

export interface JobTiming {
  /** A running job whose server has not written a heartbeat for this long is taken over by another server. */
  staleMs: number;
  /** How often a server writes its heartbeat and looks for jobs to resume. */
  heartbeatMs: number;
  /** A job that has been started this many times without finishing is marked failed instead of started again. */
  maxRuns: number;
}

export const DEFAULT_JOB_TIMING: JobTiming = { staleMs: 60_000, heartbeatMs: 15_000, maxRuns: 3 };

/**
 * Runs generation jobs one child process each (libtorch work never blocks the server's event
 * loop) and imports the result as a task batch. Every job is a row of `generation_jobs`: a
 * server that stops cleanly puts its running jobs back in the queue; one that crashes stops
 * writing its heartbeat. At start and on every heartbeat a server claims queued jobs and
 * running jobs with a stale heartbeat (one UPDATE, so two servers never claim the same job) and
 * runs them again from the start (generation is deterministic in its seed). A job that can no
 * longer run (model folder gone, generation off, started `maxRuns` times) is marked failed with
 * the reason. The batch is imported in the same transaction that marks the job done.
 */
export class GenerationJobs {
  private readonly children = new Map<number, ChildProcess>();
  /** This server among others on the same database. */
  private readonly owner = randomBytes(8).toString('hex');
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private ticking = false;

  constructor(
    private readonly db: SqlDriver,
    /** Model folders must lie inside this folder; undefined turns generation off. */
    private readonly modelsDir: string | undefined,
    private readonly timing: JobTiming = DEFAULT_JOB_TIMING,
  ) {}

  /** Resumes jobs left by a restart and keeps doing so (with the heartbeat) until `close`. */
  async startResuming(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick().catch(() => undefined), this.timing.heartbeatMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.closing || this.ticking) return;
    this.ticking = true;
    try {
      await this.resumeOpenJobs();
    } finally {
      this.ticking = false;
    }
  }

  private async resumeOpenJobs(): Promise<void> {
    const now = new Date();
    if (this.children.size) {
      await this.db.run(`UPDATE generation_jobs SET heartbeat_at = $1 WHERE owner = $2 AND status = 'running'`, [now.toISOString(), this.owner]);
    }
    const staleBefore = new Date(now.getTime() - this.timing.staleMs).toISOString();
    const open = await this.db.all<{ id: number }>(
      `SELECT id FROM generation_jobs WHERE status = 'queued' OR (status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < $1)) ORDER BY id`,
      [staleBefore],
    );
    for (const { id } of open) {
      if (this.closing) return;
      if (!(await this.claim(id, staleBefore))) continue;
      const row = (await this.db.get<JobRow>(`SELECT ${JOB_COLUMNS} FROM generation_jobs WHERE id = $1`, [id])) as JobRow;
      if (row.runs > this.timing.maxRuns) {
        await this.fail(id, `stopped: the server stopped ${row.runs - 1} times while it ran (started at most ${this.timing.maxRuns} times)`, false);
        continue;
      }
      const project = await getProject(this.db, row.project_id);
      try {
        if (!project) throw new Error(`project ${row.project_id} no longer exists`);
        this.run(id, project, JSON.parse(row.request) as GenerationRequest, row.created_by);
      } catch (e) {
        await this.fail(id, `could not be resumed after a restart: ${(e as Error).message}`, false);
      }
    }
  }

  /** Takes a queued or stale job for this server; false when another server was quicker. */
  private async claim(id: number, staleBefore: string): Promise<boolean> {
    const r = await this.db.run(
      `UPDATE generation_jobs SET status = 'running', owner = $1, heartbeat_at = $2, runs = runs + 1, done = 0
       WHERE id = $3 AND (status = 'queued' OR (status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < $4)))`,
      [this.owner, new Date().toISOString(), id, staleBefore],
    );
    return r.changes === 1;
  }

  /** Resolves a model folder inside the models folder, refusing paths that leave it. */
  modelPath(rel: string): string {
    if (!this.modelsDir) throw new HttpError(400, 'generation is off: start the server with --models-dir FOLDER (the folder that holds model checkpoints)');
    const root = resolve(this.modelsDir);
    const full = resolve(root, rel);
    const r = relative(root, full);
    if (r.startsWith('..') || isAbsolute(r)) throw new HttpError(400, `model folder '${rel}' is outside the models folder; give a path inside it`);
    if (!existsSync(resolve(full, 'config.json'))) throw new HttpError(400, `model folder '${rel}' has no config.json (looked in ${full})`);
    return full;
  }

  private options(req: GenerationRequest): Omit<GeneratePairsOptions, 'onProgress'> {
    const options: Omit<GeneratePairsOptions, 'onProgress'> = {
      modelA: this.modelPath(req.modelA),
      prompts: req.prompts,
      maxNewTokens: req.maxNewTokens,
      temperature: req.temperature,
      topP: req.topP,
      seed: req.seed,
    };
    if (req.modelB) options.modelB = this.modelPath(req.modelB);
    return options;
  }

  /** Stores the job (running, owned by this server) and starts its child process. */
  async start(project: Project, req: GenerationRequest, userId: number): Promise<GenerationJob> {
    this.options(req);
    const now = new Date().toISOString();
    const row = (await this.db.get<{ id: number }>(
      `INSERT INTO generation_jobs (project_id, name, request, status, total, runs, owner, heartbeat_at, created_by, started_at)
       VALUES ($1, $2, $3, 'running', $4, 1, $5, $6, $7, $6) RETURNING id`,
      [project.id, req.name, JSON.stringify(req), req.prompts.length * 2, this.owner, now, userId],
    )) as { id: number };
    this.run(row.id, project, req, userId);
    return (await this.get(row.id)) as GenerationJob;
  }

  /** Marks a job of this server failed (unless it has finished or another server took it). */
  private async fail(id: number, message: string, started = true): Promise<void> {
    // A claimed job that was never started again does not count that claim as a run.
    await this.db.run(
      `UPDATE generation_jobs SET status = 'failed', error = $1, finished_at = $2, runs = runs - $5 WHERE id = $3 AND owner = $4 AND status = 'running'`,
      [message.slice(0, 4000), new Date().toISOString(), id, this.owner, started ? 0 : 1],
    );
  }

  private run(id: number, project: Project, req: GenerationRequest, userId: number | null): void {
    const options = this.options(req);
    const script = childScript();
    const child = fork(script.file, [], { execArgv: script.execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.children.set(id, child);
    let stderr = '';
    let finished = false;
    const failSoon = (message: string): void => {
      finished = true;
      void this.fail(id, message).catch(() => undefined);
    };
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'progress') {
        void this.db
          .run(`UPDATE generation_jobs SET done = $1, total = $2 WHERE id = $3 AND owner = $4 AND status = 'running'`, [m.done, m.total, id, this.owner])
          .catch(() => undefined);
      } else if (m.type === 'error') {
        failSoon(m.message);
      } else {
        finished = true;
        const source = `generated by ${req.modelA}${req.modelB ? ` vs ${req.modelB}` : ''}`;
        this.db
          .transaction(async (tx) => {
            // Still ours: a server that was thought dead must not import a second copy.
            const mine = await tx.run(`UPDATE generation_jobs SET status = 'done', done = total, finished_at = $1 WHERE id = $2 AND owner = $3 AND status = 'running'`, [
              new Date().toISOString(),
              id,
              this.owner,
            ]);
            if (mine.changes !== 1) return;
            const batch = await insertBatch(tx, project, { name: req.name, kind: 'task', source, items: m.items }, userId);
            await tx.run('UPDATE generation_jobs SET batch_id = $1 WHERE id = $2', [batch.id, id]);
          })
          .catch((e: unknown) => void this.fail(id, `import failed: ${(e as Error).message}`).catch(() => undefined));
      }
    });
    child.on('exit', (code, signal) => {
      this.children.delete(id);
      if (!finished && !this.closing) failSoon(`the generation process ended (${signal ?? `exit code ${code}`}): ${stderr.trim() || 'no message'}`);
    });
    child.send(options);
  }

  /** A job as the API shows it (without its prompts), or undefined. */
  async get(id: number): Promise<GenerationJob | undefined> {
    const row = await this.db.get<JobRow>(`SELECT ${JOB_COLUMNS} FROM generation_jobs WHERE id = $1`, [id]);
    return row ? this.view(row) : undefined;
  }

  /** A project's jobs, newest first. */
  async list(projectId: number, limit = 20): Promise<GenerationJob[]> {
    const rows = await this.db.all<JobRow>(`SELECT ${JOB_COLUMNS} FROM generation_jobs WHERE project_id = $1 ORDER BY id DESC LIMIT $2`, [projectId, limit]);
    return Promise.all(rows.map((r) => this.view(r)));
  }

  private async view(r: JobRow): Promise<GenerationJob> {
    return {
      id: r.id,
      projectId: r.project_id,
      name: r.name,
      status: r.status,
      done: r.done,
      total: r.total,
      batch: r.batch_id === null ? null : ((await getBatch(this.db, r.batch_id)) ?? null),
      error: r.error,
      runs: r.runs,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    };
  }

  /** Server shutdown: stops the children and puts this server's running jobs back in the queue for the next start. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    const exits = [...this.children.values()].map((c) => new Promise<void>((done) => (c.exitCode !== null || c.signalCode !== null ? done() : c.once('exit', () => done()))));
    for (const c of this.children.values()) c.kill('SIGTERM');
    await Promise.all(exits);
    await this.db.run(`UPDATE generation_jobs SET status = 'queued', owner = NULL, heartbeat_at = NULL WHERE owner = $1 AND status = 'running'`, [this.owner]);
  }
}
