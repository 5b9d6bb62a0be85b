// Reads a small JSONL file of the pipeline's own making into memory (world files, stage outputs).
import { readFileSync } from 'node:fs';

/** Every non-blank line of `path`, parsed as JSON (no validation: the pipeline wrote these files). */
export function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}
