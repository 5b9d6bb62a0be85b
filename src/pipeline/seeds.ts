// Seeds as a dimension: N independent, resumable replicates of the pipeline under <run>/seed_<k>/, run as child processes.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/schema-cli.js';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import type { Progress } from '../core/progress.js';
import type { ReplicateMessage, ReplicatePipeline, ReplicateRequest } from './replicate-child.js';
import { PipelineConfigSchema } from './config.js';
import { MultimodalPipelineConfigSchema } from './multimodal-config.js';
import { configDifferences, readSavedConfig } from './run.js';
import type { ReplicateResult } from './seeds-aggregate.js';
import { writeSeedsReport, type SeedsReport } from './seeds-report.js';

/** What the replicate machinery reads of a run's config: the text pipeline's and the multimodal pipeline's have it. */
export interface ReplicableConfig {
  name: string;
  runsDir: string;
  seed: number;
  threads: number;
  seeds: number;
  vary: 'training' | 'world';
  jobs: number;
  world: { seed: number };
}

/** One replicate: its folder name and the single-run config that produces it. */
export interface Replicate<C extends ReplicableConfig = ReplicableConfig> {
  replicate: number;
  dir: string;
  config: C;
}

/**
 * The replicates of a multi-seed config: replicate k is an ordinary single run named `seed_<k>`
 * inside `<runsDir>/<name>/`, with `seed + k` (vary 'training') or `world.seed + k` (vary 'world').
 * Its config is a valid single-run config: `safealign pipeline --config <that folder>/config.json`
 * reproduces it.
 */
export function replicates<C extends ReplicableConfig>(config: C, threadsPerJob: number = config.threads): Replicate<C>[] {
  return Array.from({ length: config.seeds }, (_, k) => {
    const dir = `seed_${k}`;
    const varied: C =
      config.vary === 'world' ? { ...config, world: { ...config.world, seed: config.world.seed + k } } : { ...config, seed: config.seed + k };
    return { replicate: k, dir, config: { ...varied, name: dir, runsDir: join(config.runsDir, config.name), seeds: 1, threads: threadsPerJob } };
  });
}

/** libtorch threads of each replicate: the user's `threads`, else the cores shared out among the jobs. */
export function threadsPerJob(config: ReplicableConfig, cores: number = cpus().length): number {
  if (config.threads > 0) return config.threads;
  return Math.max(1, Math.floor(cores / Math.min(config.jobs, config.seeds)));
}

/**
 * A multi-seed folder is resumed only with the config it was made with, except `seeds` (more seeds
 * add replicates; fewer report on the first ones) and the settings that never change results.
 */
export function assertSameMultiSeedConfig<C extends ReplicableConfig>(file: string, config: C, pipeline: ReplicatePipeline = 'text'): void {
  if (!existsSync(file)) return;
  const before = readSavedConfig(file, pipeline === 'multimodal' ? MultimodalPipelineConfigSchema : PipelineConfigSchema) as Record<string, unknown>;
  const folder = join(config.runsDir, config.name);
  if (typeof before.seeds !== 'number' || before.seeds < 2) {
    throw new ConfigError(`${folder} holds a single-seed run, not replicates. Start the multi-seed run with --name <other>, or delete ${folder}.`);
  }
  const diff = configDifferences(before, config).filter((p) => p !== 'seeds');
  if (diff.length === 0) return;
  throw new ConfigError(
    `${folder} holds replicates made with a different config (changed: ${diff.slice(0, 8).join(', ')}${diff.length > 8 ? ', …' : ''}).\n` +
      `Finished replicates would be reused as they are. Start a new run with --name <other>, or delete ${folder} to redo it.`,
  );
}

/** The compiled child script (dist) or, when running from source, the TypeScript one through tsx. */
function childScript(): { file: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./replicate-child.js', import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: [] };
  return { file: fileURLToPath(new URL('./replicate-child.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}

/** Runs (or resumes) one replicate in a child process; resolves with its metrics. */
function runReplicateChild(rep: Replicate, pipeline: ReplicatePipeline, progress: Progress): Promise<ReplicateResult> {
  const { file, execArgv } = childScript();
  const child = fork(file, [], {
    execArgv,
    env: { ...process.env, SAFEALIGN_THREADS: String(rep.config.threads) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  // Anything the child prints outside the Progress interface (warnings) goes through the parent's log.
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') progress.log(line);
  };
  child.stdout?.on('data', relay);
  child.stderr?.on('data', relay);
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on('message', (m: ReplicateMessage) => {
      switch (m.type) {
        case 'start':
          return progress.start(m.label, m.total);
        case 'update':
          return progress.update(m.done, m.metrics);
        case 'stop':
          return progress.stop();
        case 'log':
          return progress.log(m.message);
        case 'done':
          settled = true;
          return resolve(m.result);
        case 'error':
          settled = true;
          return reject(new ReplicateError(`${rep.dir}: ${m.message}`));
      }
    });
    child.on('exit', (code, signal) => {
      if (!settled) reject(new ReplicateError(`${rep.dir}: the replicate's process ended (${signal ?? `exit code ${code}`}) before finishing`));
    });
    const request = { pipeline, config: rep.config, replicate: rep.replicate, dir: rep.dir } as ReplicateRequest;
    child.send(request);
  });
}

/** A replicate failed; the others still ran to the end and can be reused. */
export class ReplicateError extends Error {
  override name = 'ReplicateError';
}

export interface SeedsOptions {
  /** Progress of one replicate (the CLI draws one bar per running replicate). */
  progressFor: (dir: string) => Progress;
  /** Run-level lines: replicates starting and finishing. */
  log?: (message: string) => void;
  /** Cores to share among the jobs when `threads` is 0 (default: this machine's). */
  cores?: number;
}

export interface SeedsResult {
  runDir: string;
  replicates: ReplicateResult[];
  report: SeedsReport;
}

/**
 * Runs `config.seeds` replicates, `config.jobs` at a time, each a complete resumable pipeline
 * run in its own process; replicates finished earlier are reused, an unfinished one resumes
 * from its checkpoint. Then writes `<run>/report.json` and `<run>/report.html` over them.
 */
export async function runSeeds(config: ReplicableConfig, options: SeedsOptions, pipeline: ReplicatePipeline = 'text'): Promise<SeedsResult> {
  if (config.seeds < 2) throw new ConfigError(`runSeeds needs seeds >= 2 (got ${config.seeds}); a single run is runPipeline`);
  const log = options.log ?? (() => {});
  const runDir = join(config.runsDir, config.name);
  assertSameMultiSeedConfig(join(runDir, 'config.json'), config, pipeline);
  writeJsonAtomic(join(runDir, 'config.json'), config);
  const threads = threadsPerJob(config, options.cores);
  const reps = replicates(config, threads);
  const jobs = Math.min(config.jobs, reps.length);
  log(`${reps.length} replicates (varying the ${config.vary === 'world' ? 'world seed' : 'training seed'}), ${jobs} at a time, ${threads} libtorch thread${threads > 1 ? 's' : ''} each`);
  const t0 = performance.now();
  const results: (ReplicateResult | undefined)[] = [];
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < reps.length; i = next++) {
      const rep = reps[i] as Replicate;
      const started = performance.now();
      const v = config.vary === 'world' ? `world.seed ${rep.config.world.seed}` : `seed ${rep.config.seed}`;
      log(`${rep.dir} (${v}): started`);
      try {
        results[i] = await runReplicateChild(rep, pipeline, options.progressFor(rep.dir));
        log(`${rep.dir}: finished (${((performance.now() - started) / 1000).toFixed(0)}s this invocation)`);
      } catch (e) {
        failures.push((e as Error).message);
        log(`${rep.dir}: FAILED: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  if (failures.length > 0) {
    throw new ReplicateError(`${failures.length} of ${reps.length} replicates failed (the others are done and will be reused on a re-run):\n${failures.join('\n')}`);
  }
  const done = results as ReplicateResult[];
  const report = await writeSeedsReport(runDir, done, config, { invocationWallTimeSec: (performance.now() - t0) / 1000 });
  return { runDir, replicates: done, report };
}
