// The shared loading loop: JSONL lines -> format parser -> records, with problems collected by file:line.
import { readJsonl } from './jsonl.js';
import { DataFormatError, FATAL_KINDS, type DataProblem, type ProblemKind } from './problems.js';
import type { PreferenceRecord, RecordSource } from './record.js';

/** A problem a parser found, before the loader adds the file and line. */
export interface LineIssue {
  kind: ProblemKind;
  field?: string;
  message: string;
}

/**
 * What a format parser makes of one JSON value: a record (maybe with warnings, and `contradiction`
 * when its safety labels contradict each other, which the loader skips or keeps by policy), or why not.
 */
export type ParseOutcome<T = PreferenceRecord> =
  | { ok: true; record: T; warnings: LineIssue[]; contradiction?: LineIssue }
  | { ok: false; issues: LineIssue[] };

/** Turns one parsed JSON line into a record. Pure; knows nothing about files. */
export type RecordParser<T = PreferenceRecord> = (value: unknown) => ParseOutcome<T>;

/** What the loader needs of a record: a place to note the file and line it came from. */
export interface Sourced {
  source?: RecordSource;
}

/** What to do with rows whose safer response is labelled unsafe while the other is labelled safe. */
export type InconsistentPolicy = 'skip' | 'keep';

export interface LoadOptions {
  /** Throw a `DataFormatError` at the first line that cannot be read, instead of reporting and skipping it. */
  strict?: boolean;
  /** Rows with contradictory safety labels are always counted; 'skip' (default) drops them, 'keep' keeps them. */
  inconsistent?: InconsistentPolicy;
  /** Stop after this many records. */
  limit?: number;
  /** Called for every problem as it is found (the result also lists them all). */
  onProblem?: (problem: DataProblem) => void;
}

export interface LoadStats {
  /** Non-blank lines read. */
  lines: number;
  /** Records returned. */
  records: number;
  /** Lines that could not be turned into a record (bad JSON, schema, dialogue). */
  unreadable: number;
  /** Rows with contradictory safety labels (kept or skipped). */
  inconsistent: number;
  /** Of those, how many were skipped. */
  skippedInconsistent: number;
  /** Records kept with a label warning (e.g. safe but severity > 0, checksum mismatch). */
  warnings: number;
}

export interface LoadResult<T = PreferenceRecord> {
  records: T[];
  problems: DataProblem[];
  stats: LoadStats;
}

/** LoadOptions with a check of each parsed record (e.g. that its image opens): an issue makes the line unreadable. */
export interface RecordLoadOptions<T> extends LoadOptions {
  check?: (record: T) => Promise<LineIssue | undefined>;
}

/**
 * Streams records from a JSONL file through `parser` (and `check`). Unreadable lines and label problems go to
 * `onProblem` and into `stats`; with `strict` the first unreadable line throws instead.
 * A record gets `source.file` and `source.line`.
 */
export async function* streamRecords<T extends Sourced = PreferenceRecord>(
  path: string,
  parser: RecordParser<T>,
  options: RecordLoadOptions<T> = {},
  stats: LoadStats = emptyStats(),
): AsyncGenerator<T> {
  const policy = options.inconsistent ?? 'skip';
  const report = (line: number, issue: LineIssue, kept: boolean): void => {
    const problem: DataProblem = { file: path, line, ...issue, kept };
    if (options.strict && FATAL_KINDS.has(issue.kind)) {
      throw new DataFormatError(problem, 'strict mode stops at the first bad line; without it bad lines are reported and skipped');
    }
    options.onProblem?.(problem);
  };
  for await (const item of readJsonl(path)) {
    if (options.limit !== undefined && stats.records >= options.limit) return;
    stats.lines += 1;
    if ('error' in item) {
      stats.unreadable += 1;
      report(item.line, { kind: 'json', message: item.error }, false);
      continue;
    }
    const outcome = parser(item.value);
    if (!outcome.ok) {
      stats.unreadable += 1;
      for (const issue of outcome.issues) report(item.line, issue, false);
      continue;
    }
    const record = outcome.record;
    if (outcome.contradiction) {
      stats.inconsistent += 1;
      report(item.line, outcome.contradiction, policy === 'keep');
      if (policy === 'skip') {
        stats.skippedInconsistent += 1;
        continue;
      }
    }
    if (outcome.warnings.length > 0) stats.warnings += 1;
    for (const w of outcome.warnings) report(item.line, w, true);
    record.source = { ...record.source, file: path, line: item.line };
    const failed = await options.check?.(record);
    if (failed) {
      stats.unreadable += 1;
      report(item.line, failed, false);
      continue;
    }
    stats.records += 1;
    yield record;
  }
}

/** Reads a whole JSONL file into records, collecting every problem (see `streamRecords`). */
export async function loadRecords<T extends Sourced = PreferenceRecord>(path: string, parser: RecordParser<T>, options: RecordLoadOptions<T> = {}): Promise<LoadResult<T>> {
  const problems: DataProblem[] = [];
  const stats = emptyStats();
  const records: T[] = [];
  const onProblem = (p: DataProblem): void => {
    problems.push(p);
    options.onProblem?.(p);
  };
  for await (const r of streamRecords(path, parser, { ...options, onProblem }, stats)) records.push(r);
  return { records, problems, stats };
}

export function emptyStats(): LoadStats {
  return { lines: 0, records: 0, unreadable: 0, inconsistent: 0, skippedInconsistent: 0, warnings: 0 };
}
