// Runs named pipeline stages once each: a finished stage's result is read back, so a killed run resumes.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { silentProgress, type Progress } from '../core/progress.js';
import { dataParallel } from '../distributed/data-parallel.js';

/** What a stage function gets: its own folder inside the run, and a progress reporter. */
export interface StageContext {
  runDir: string;
  stageDir: string;
  progress: Progress;
}

/** The record a finished stage leaves in `<stageDir>/stage.json`. */
export interface StageRecord<T> {
  stage: string;
  status: 'done';
  result: T;
  /** Wall time of the run that finished the stage, summed over resumed attempts. */
  wallTimeSec: number;
  finishedAt: string;
}

/** The option of a stage that trains data-parallel: every rank runs it (StageRunner.run). */
export const COLLECTIVE = { collective: true } as const;

/** Bookkeeping for one pipeline run: where it lives and how long each stage took. */
export class StageRunner {
  readonly timings: Record<string, number> = {};

  constructor(
    readonly runDir: string,
    private readonly progress: Progress = silentProgress,
  ) {
    mkdirSync(runDir, { recursive: true });
  }

  /**
   * Runs `fn` unless the stage already finished in an earlier attempt, in which case its saved
   * result is returned. Results must be JSON-serialisable. Partial work inside a stage (e.g.
   * training checkpoints) is the stage's own business: it can find it in `ctx.stageDir`.
   * In a data-parallel job (`safealign launch`) rank 0 decides whether the stage is done and alone runs
   * it, the others waiting for its result; a `collective` stage (a trainer, data-parallel inside) runs on
   * every rank, rank 0 alone writing its record, and leaves rank-0-only work to `dataParallel().onMain`.
   */
  async run<T>(stage: string, fn: (ctx: StageContext) => Promise<T> | T, options: { collective?: boolean } = {}): Promise<T> {
    const job = dataParallel();
    const saved = await job.onMain(() => this.finished<T>(stage));
    if (saved) {
      this.timings[stage] = saved.wallTimeSec;
      return saved.result;
    }
    return options.collective ? this.execute(stage, fn, job.isMain) : job.onMain(() => this.execute(stage, fn, true));
  }

  /** The record of `stage` if it finished in an earlier attempt. */
  private finished<T>(stage: string): StageRecord<T> | null {
    const stageDir = join(this.runDir, stage);
    const recordPath = join(stageDir, 'stage.json');
    if (!existsSync(recordPath)) return null;
    const record = JSON.parse(readFileSync(recordPath, 'utf8')) as StageRecord<T>;
    if (record.status !== 'done') return null;
    this.progress.log(`${stage}: already done (${record.wallTimeSec.toFixed(1)}s), reusing ${stageDir}`);
    return record;
  }

  /** Runs `fn` as `stage`; with `writes`, keeps its attempt time on disk and writes its record when it finishes. */
  private async execute<T>(stage: string, fn: (ctx: StageContext) => Promise<T> | T, writes: boolean): Promise<T> {
    const stageDir = join(this.runDir, stage);
    mkdirSync(stageDir, { recursive: true });
    const attemptsPath = join(stageDir, 'attempts.json');
    const earlier = existsSync(attemptsPath)
      ? (JSON.parse(readFileSync(attemptsPath, 'utf8')) as { wallTimeSec: number }).wallTimeSec
      : 0;
    const t0 = performance.now();
    const flush = () => {
      if (writes) writeJsonAtomic(attemptsPath, { wallTimeSec: earlier + (performance.now() - t0) / 1000 });
    };
    // Keep the attempt's elapsed time on disk so a killed-and-resumed stage reports its full cost.
    const timer = setInterval(flush, 5_000);
    timer.unref();
    let result: T;
    try {
      result = await fn({ runDir: this.runDir, stageDir, progress: this.progress });
    } finally {
      clearInterval(timer);
      flush();
    }
    const wallTimeSec = earlier + (performance.now() - t0) / 1000;
    const record: StageRecord<T> = {
      stage,
      status: 'done',
      result,
      wallTimeSec,
      finishedAt: new Date().toISOString(),
    };
    if (writes) writeJsonAtomic(join(stageDir, 'stage.json'), record);
    this.timings[stage] = wallTimeSec;
    return result;
  }
}
