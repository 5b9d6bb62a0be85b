// Runs named pipeline stages once each: a finished stage's result is read back, so a killed run resumes.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { silentProgress, type Progress } from '../core/progress.js';

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
   */
  async run<T>(stage: string, fn: (ctx: StageContext) => Promise<T> | T): Promise<T> {
    const stageDir = join(this.runDir, stage);
    const recordPath = join(stageDir, 'stage.json');
    if (existsSync(recordPath)) {
      const record = JSON.parse(readFileSync(recordPath, 'utf8')) as StageRecord<T>;
      if (record.status === 'done') {
        this.timings[stage] = record.wallTimeSec;
        this.progress.log(`${stage}: already done (${record.wallTimeSec.toFixed(1)}s), reusing ${stageDir}`);
        return record.result;
      }
    }
    mkdirSync(stageDir, { recursive: true });
    const attemptsPath = join(stageDir, 'attempts.json');
    const earlier = existsSync(attemptsPath)
      ? (JSON.parse(readFileSync(attemptsPath, 'utf8')) as { wallTimeSec: number }).wallTimeSec
      : 0;
    const t0 = performance.now();
    const flush = () => writeJsonAtomic(attemptsPath, { wallTimeSec: earlier + (performance.now() - t0) / 1000 });
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
    writeJsonAtomic(recordPath, record);
    this.timings[stage] = wallTimeSec;
    return result;
  }
}
