// Streaming JSONL reading (line by line, with line numbers) and JSONL writing.
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { writeFileAtomic } from '../core/fs-atomic.js';
import { DataFileError } from './problems.js';

/** One non-blank line of a JSONL file: its parsed value, or why it did not parse. */
export type JsonlLine = { line: number; value: unknown } | { line: number; error: string };

/**
 * Reads a JSONL file line by line without loading it whole. Blank lines are skipped; a line
 * that is not valid JSON yields `{ line, error }` instead of throwing, so callers decide.
 */
export async function* readJsonl(path: string): AsyncGenerator<JsonlLine> {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch (e) {
    throw new DataFileError(`cannot open ${path}: ${(e as Error).message}`);
  }
  if (!isFile) throw new DataFileError(`${path} is not a file: expected a JSONL file, one JSON object per line`);
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    const trimmed = line === 1 ? text.replace(/^\uFEFF/, '').trim() : text.trim();
    if (trimmed === '') continue;
    try {
      yield { line, value: JSON.parse(trimmed) as unknown };
    } catch (e) {
      yield { line, error: `not valid JSON (${(e as Error).message}); line starts with ${JSON.stringify(trimmed.slice(0, 60))}` };
    }
  }
}

/**
 * Serialises a value as one JSON line the way Python's `json.dumps(v, ensure_ascii=False)`
 * does (`", "` and `": "` separators), so files written here match upstream datasets byte for byte.
 */
export function toJsonLine(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(toJsonLine).join(', ')}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}: ${toJsonLine(v)}`);
  }
  return `{${parts.join(', ')}}`;
}

/** Writes values as JSONL (one `toJsonLine` per line, trailing newline), atomically. */
export function writeJsonl(path: string, values: Iterable<unknown>): void {
  let text = '';
  for (const v of values) text += `${toJsonLine(v)}\n`;
  writeFileAtomic(path, text);
}
