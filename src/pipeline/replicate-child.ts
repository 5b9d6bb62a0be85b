// Child process running one replicate of a multi-seed run: runPipeline (or runMultimodalPipeline) with progress sent to the parent over IPC.
import { existsSync, readFileSync } from 'node:fs';
import type { Progress } from '../core/progress.js';
import type { PipelineConfig } from './config.js';
import type { MultimodalPipelineConfig } from './multimodal-config.js';
import { runMultimodalPipeline } from './multimodal.js';
import { runPipeline } from './run.js';
import { modelMetrics, type ReplicateResult } from './seeds-aggregate.js';

/** Which pipeline a replicate runs: the text world's (`runPipeline`) or the multimodal world's (`runMultimodalPipeline`). */
export type ReplicatePipeline = 'text' | 'multimodal';

/** What the parent sends: the replicate's pipeline and resolved config, and where it sits in the run. */
export type ReplicateRequest = { replicate: number; dir: string } & ({ pipeline: 'text'; config: PipelineConfig } | { pipeline: 'multimodal'; config: MultimodalPipelineConfig });

/** Runs the replicate's pipeline; its models' metrics, d and wall time as the aggregate report reads them. */
async function runReplicate(request: ReplicateRequest): Promise<ReplicateResult> {
  const at = { replicate: request.replicate, dir: request.dir, seed: request.config.seed, worldSeed: request.config.world.seed };
  if (request.pipeline === 'multimodal') {
    const result = await runMultimodalPipeline(request.config, ipcProgress);
    const models = Object.fromEntries(Object.entries(result.models).map(([k, e]) => [k, modelMetrics(e)]));
    return { ...at, models, costThreshold: result.threshold, wallTimeSec: Object.values(result.timings).reduce((a, b) => a + b, 0) };
  }
  const result = await runPipeline(request.config, ipcProgress);
  const models = Object.fromEntries(Object.entries(result.models).map(([k, e]) => [k, modelMetrics(e, result.trainingCost[k])]));
  return {
    ...at,
    models,
    costThreshold: result.threshold,
    wallTimeSec: Object.values(result.timings).reduce((a, b) => a + b, 0),
    ...(result.robust?.hcGuarantee ? { hcGuarantee: result.robust.hcGuarantee.results } : {}),
    ...(result.robust?.micro ? { micro: result.robust.micro.byGroup } : {}),
    ...(result.overoptimisation ? { overoptimisation: result.overoptimisation } : {}),
  };
}

/** Messages to the parent: progress events, the finished replicate, or why it failed. */
export type ReplicateMessage =
  | { type: 'start'; label: string; total: number }
  | { type: 'update'; done: number; metrics?: Record<string, number | string> }
  | { type: 'stop' }
  | { type: 'log'; message: string }
  | { type: 'done'; result: ReplicateResult }
  | { type: 'error'; message: string };

const parentPid = process.ppid;

/** The parent's pid as the kernel sees it now (Node's process.ppid is fixed at start-up). */
function currentParent(): number {
  if (existsSync('/proc/self/stat')) {
    // pid (comm) state ppid …; comm may hold spaces, so parse after the last ')'.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  try {
    process.kill(parentPid, 0);
    return parentPid;
  } catch {
    return -1;
  }
}

/**
 * Exits when the parent is gone (killed with SIGKILL, say): training runs synchronously between
 * progress calls, so the IPC 'disconnect' event would only fire after the stage; a resumed run
 * must not meet an orphan still writing the same replicate.
 */
function exitIfOrphaned(): void {
  // Every progress call (one per step or batch): reading /proc/self/stat costs microseconds.
  if (currentParent() !== parentPid) process.exit(1);
}

function send(message: ReplicateMessage): void {
  exitIfOrphaned();
  if (process.connected) process.send?.(message);
}

/** Sends the last message and exits once it is written. */
function finish(message: ReplicateMessage, code: number): void {
  if (!process.connected || !process.send) process.exit(code);
  process.send(message, () => process.exit(code));
}

const ipcProgress: Progress = {
  start: (label, total) => send({ type: 'start', label, total }),
  update: (done, metrics) => send(metrics ? { type: 'update', done, metrics } : { type: 'update', done }),
  stop: () => send({ type: 'stop' }),
  log: (message) => send({ type: 'log', message }),
};

process.on('disconnect', () => process.exit(1));
process.once('message', (request: ReplicateRequest) => {
  void (async () => {
    try {
      const replicate = await runReplicate(request);
      finish({ type: 'done', result: replicate }, 0);
    } catch (e) {
      const err = e as Error;
      const userFacing = /Error$/.test(err.name) && err.name !== 'Error' && err.name !== 'TypeError';
      finish({ type: 'error', message: userFacing ? err.message : (err.stack ?? String(e)) }, 1);
    }
  })();
});
