// SFT examples: `{prompt, response}` JSONL, each tagged with its file:line; a bad line stops with its file:line.
import { readFileSync } from 'node:fs';
import { DataFileError } from './problems.js';

export interface SftExampleRecord {
  prompt: string;
  response: string;
  /** `file:line`. */
  source: string;
}

/** Reads `{prompt, response}` JSONL (blank lines skipped); throws a `DataFileError` naming file:line at the first bad line. */
export function readSftExamples(path: string): SftExampleRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DataFileError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return text
    .split('\n')
    .map((line, i) => ({ line: line.trim(), n: i + 1 }))
    .filter(({ line }) => line !== '')
    .map(({ line, n }) => {
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch (e) {
        throw new DataFileError(`${path}:${n}: not valid JSON (${(e as Error).message})`);
      }
      const r = v as { prompt?: unknown; response?: unknown };
      if (typeof r.prompt !== 'string' || typeof r.response !== 'string') {
        throw new DataFileError(`${path}:${n}: expected an object with string fields "prompt" and "response"`);
      }
      return { prompt: r.prompt, response: r.response, source: `${path}:${n}` };
    });
}
