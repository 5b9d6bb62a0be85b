// SFT data: `{prompt, response}` JSONL, or the safe responses of PKU-SafeRLHF; bad lines and records with no safe response are counted and named by file:line.
import { z } from 'zod';
import { PARSERS } from './formats.js';
import { readJsonl } from './jsonl.js';
import { loadRecords, type LoadOptions, type LoadStats, type ParseOutcome } from './loader.js';
import type { DataProblem } from './problems.js';
import type { PreferenceRecord, RecordSource, ResponseId } from './record.js';
import { issuesFromZod } from './zod-issues.js';

export interface SftExampleRecord {
  prompt: string;
  response: string;
  /** `file:line`. */
  source: string;
}

/** Files SFT examples come from. */
export type SftFormat = 'sft' | 'pku';

export interface SftData {
  format: SftFormat;
  examples: SftExampleRecord[];
  /** Unreadable lines (skipped), with file:line. */
  problems: DataProblem[];
  /** Lines read, records parsed, unreadable lines. */
  stats: LoadStats;
  /** PKU-SafeRLHF: records skipped because neither response is labelled safe, and where the first of them are (`file:line`, at most 20). */
  noSafeResponse: { count: number; at: string[] };
}

/** One line of `{prompt, response}` SFT data; extra keys are ignored. */
export const SftRowSchema = z.object({ prompt: z.string(), response: z.string() });

function parseSftRow(value: unknown): ParseOutcome<{ prompt: string; response: string; source?: RecordSource }> {
  const parsed = SftRowSchema.safeParse(value);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  return { ok: true, record: parsed.data, warnings: [] };
}

/**
 * The response a PKU-SafeRLHF record teaches: its safe response, the more helpful one when both are
 * safe; undefined when neither is labelled safe.
 */
export function safeResponseOf(record: PreferenceRecord): ResponseId | undefined {
  const safe = record.isSafe;
  if (!safe) return undefined;
  if (safe[0] && safe[1]) return record.betterResponseId;
  if (safe[0]) return 0;
  if (safe[1]) return 1;
  return undefined;
}

async function detectSftFormat(path: string): Promise<SftFormat> {
  for await (const item of readJsonl(path)) {
    if ('error' in item) continue;
    return typeof item.value === 'object' && item.value !== null && 'response_0' in item.value ? 'pku' : 'sft';
  }
  return 'sft';
}

const where = (s: RecordSource | undefined, path: string) => `${s?.file ?? path}:${s?.line ?? 0}`;
const MAX_LISTED = 20;

/**
 * Reads SFT examples from `{prompt, response}` JSONL or PKU-SafeRLHF (detected from the first JSON
 * line): a PKU record gives its safe response (`safeResponseOf`); one with none is skipped and
 * counted. Unreadable lines are reported in `problems` and skipped; with `strict` the first throws.
 */
export async function readSftData(path: string, options: LoadOptions & { format?: SftFormat | 'auto' } = {}): Promise<SftData> {
  const format = options.format === undefined || options.format === 'auto' ? await detectSftFormat(path) : options.format;
  const noSafeResponse = { count: 0, at: [] as string[] };
  if (format === 'sft') {
    const data = await loadRecords(path, parseSftRow, options);
    const examples = data.records.map((r) => ({ prompt: r.prompt, response: r.response, source: where(r.source, path) }));
    return { format, examples, problems: data.problems, stats: data.stats, noSafeResponse };
  }
  // each response's own label decides, so rows whose safer/unsafe order contradicts the labels are kept
  const data = await loadRecords(path, PARSERS.pku, { inconsistent: 'keep', ...options });
  const examples: SftExampleRecord[] = [];
  for (const r of data.records) {
    const id = safeResponseOf(r);
    if (id === undefined) {
      noSafeResponse.count++;
      if (noSafeResponse.at.length < MAX_LISTED) noSafeResponse.at.push(where(r.source, path));
      continue;
    }
    examples.push({ prompt: r.prompt, response: r.responses[id], source: where(r.source, path) });
  }
  return { format, examples, problems: data.problems, stats: data.stats, noSafeResponse };
}
