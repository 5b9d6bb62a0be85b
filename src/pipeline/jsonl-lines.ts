// Reads small JSONL files of the pipeline's own making into memory (world files, stage outputs).
import { readFileSync } from 'node:fs';
import type { RlPrompt } from '../algorithms/rl/train.js';

/** Every non-blank line of `path`, parsed as JSON (no validation: the pipeline wrote these files). */
function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** A world prompts file (`{prompt, kind, category, …}` lines) as RL prompts; `risky` from `kind`, the request's harm category (for per-category constraints) when it has one. */
export function readWorldPrompts(path: string): RlPrompt[] {
  return readJsonl<{ prompt: string; kind: string; category?: string | null }>(path).map((p) => ({ prompt: p.prompt, risky: p.kind === 'risky', ...(p.category ? { category: p.category } : {}) }));
}

/** A world SFT file as (prompt, response) demonstrations; the other fields (gold labels for auditing) are dropped. */
export function readDemonstrations(path: string): { prompt: string; response: string }[] {
  return readJsonl<{ prompt: string; response: string }>(path).map((e) => ({ prompt: e.prompt, response: e.response }));
}
