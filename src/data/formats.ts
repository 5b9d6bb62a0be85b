// The preference file formats by name, format detection, and one entry point to load any of them.
import { parseHhRlhf } from './hh-rlhf.js';
import { readJsonl } from './jsonl.js';
import { loadRecords, streamRecords, type LoadOptions, type LoadResult, type RecordParser } from './loader.js';
import { parsePair } from './pairs.js';
import { parsePkuSafeRlhf } from './pku-saferlhf.js';
import { DataFormatError } from './problems.js';
import type { PreferenceRecord } from './record.js';

export const DATA_FORMATS = ['pku', 'hh', 'pairs'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** Parser of each format. */
export const PARSERS: Record<DataFormat, RecordParser> = { pku: parsePkuSafeRlhf, hh: parseHhRlhf, pairs: parsePair };

/** The format a JSON object looks like, judged by its keys; undefined if none fits. */
export function formatOfRow(value: unknown): DataFormat | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const has = (k: string): boolean => k in value;
  if (has('response_0') && has('response_1') && has('better_response_id')) return 'pku';
  if (has('chosen') && has('rejected')) return has('prompt') ? 'pairs' : 'hh';
  return undefined;
}

/**
 * Detects a file's format from its first line that parses as JSON. Throws `DataFormatError`
 * naming that line if its keys fit no format.
 */
export async function detectFormat(path: string): Promise<DataFormat> {
  for await (const item of readJsonl(path)) {
    if ('error' in item) continue;
    const format = formatOfRow(item.value);
    if (format) return format;
    const keys = typeof item.value === 'object' && item.value !== null ? Object.keys(item.value).join(', ') : typeof item.value;
    throw new DataFormatError({
      file: path,
      line: item.line,
      kind: 'schema',
      kept: false,
      message: `cannot tell the format from keys [${keys}]: expected PKU-SafeRLHF (response_0, response_1, better_response_id, ...), HH-RLHF (chosen, rejected) or pairs (prompt, chosen, rejected); pass --format (per-response safety labels {prompt, response, is_safe} train a cost model with --cost-data labels)`,
    });
  }
  throw new DataFormatError({ file: path, line: 0, kind: 'json', kept: false, message: 'no line of the file parses as JSON' });
}

export interface PreferenceLoadOptions extends LoadOptions {
  /** File format; 'auto' (default) detects it from the first JSON line. */
  format?: DataFormat | 'auto';
}

/** Resolves 'auto' to a concrete format. */
export async function resolveFormat(path: string, format: DataFormat | 'auto' = 'auto'): Promise<DataFormat> {
  return format === 'auto' ? detectFormat(path) : format;
}

/** Loads preference records from a file of any supported format. */
export async function loadPreferences(path: string, options: PreferenceLoadOptions = {}): Promise<LoadResult & { format: DataFormat }> {
  const format = await resolveFormat(path, options.format);
  return { ...(await loadRecords(path, PARSERS[format], options)), format };
}

/** Streams preference records from a file of any supported format. */
export async function* streamPreferences(path: string, options: PreferenceLoadOptions = {}): AsyncGenerator<PreferenceRecord> {
  const format = await resolveFormat(path, options.format);
  yield* streamRecords(path, PARSERS[format], options);
}
