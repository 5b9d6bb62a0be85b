// Reads small JSONL files of the pipeline's own making into memory (world files, stage outputs).
import { existsSync, readFileSync } from 'node:fs';
import type { RlPrompt } from '../algorithms/rl/train.js';

/** Every non-blank line of `path`, parsed as JSON (no validation: the pipeline wrote these files). */
export function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** One line of a world prompts file (`{prompt, kind, category, …}`). */
export interface WorldPromptLine {
  prompt: string;
  kind: string;
  category?: string | null;
}

/** A world prompts line as an RL prompt: `risky` from `kind`, the request's harm category (for per-category constraints) when it has one. */
export function worldRlPrompt(p: WorldPromptLine): RlPrompt {
  return { prompt: p.prompt, risky: p.kind === 'risky', ...(p.category ? { category: p.category } : {}) };
}

/** A world prompts file as RL prompts (`worldRlPrompt` of each line). */
export function readWorldPrompts(path: string): RlPrompt[] {
  return readJsonl<WorldPromptLine>(path).map(worldRlPrompt);
}

/** A world SFT file as (prompt, response) demonstrations; the other fields (gold labels for auditing) are dropped. */
export function readDemonstrations(path: string): { prompt: string; response: string }[] {
  return readJsonl<{ prompt: string; response: string }>(path).map((e) => ({ prompt: e.prompt, response: e.response }));
}

/**
 * The world's per-annotator labels (annotations-raw.jsonl) of one split as records: each line's pair (line
 * `pair` of `records`, the split's preference file) with that annotator's better response. Safety fields are
 * the pair's majority labels (MiCRo reads helpfulness only). None when the file is absent (only MiCRo needs it).
 */
export function readAnnotatorLabels<R extends { betterResponseId: 0 | 1 }>(rawPath: string, split: string, records: readonly R[]): (R & { annotator: string })[] {
  if (!existsSync(rawPath)) return [];
  return readJsonl<{ split: string; pair: number; annotator: string; better_response_id: 0 | 1 }>(rawPath)
    .filter((l) => l.split === split && records[l.pair] !== undefined)
    .map((l) => ({ ...(records[l.pair] as R), betterResponseId: l.better_response_id, annotator: l.annotator }));
}
