// RL prompts from one file of any common shape: PKU-SafeRLHF, HH-RLHF, BeaverTails-V (image + question), {prompt[, image]} JSONL or plain text lines (format detected, problems by file:line).
import { readFileSync } from 'node:fs';
import { imageSourceOf, type ImageSource } from './beavertails-v.js';
import { parseHhDialogue } from './hh-rlhf.js';
import { DataFileError, type DataProblem } from './problems.js';
import type { ChatMessage } from './record.js';

/** How a prompt file is written. */
export type PromptFormat = 'pku' | 'hh' | 'prompt' | 'beavertails-v' | 'text';

/** One prompt: the last user message, earlier turns (HH-RLHF dialogues) and where it came from. */
export interface PromptRecord {
  prompt: string;
  /** Turns before the prompt, oldest first (multi-turn dialogues only). */
  context?: ChatMessage[];
  /** `file:line`. */
  source: string;
  /** Whether the prompt is a harmful request, when the row says (`"risky": true | false`, or `"kind": "risky" | "benign"` as in the built-in world's prompt files). */
  risky?: boolean;
  /** The prompt's image (BeaverTails-V rows, or `"image"` beside `"prompt"`): a file path relative to the prompt file's folder, or its bytes. */
  image?: ImageSource;
}

export interface PromptFile {
  format: PromptFormat;
  prompts: PromptRecord[];
  /** Lines that gave no prompt (bad JSON, missing field, dialogue without a user turn), skipped. */
  problems: DataProblem[];
}

/** The prompt of an HH-RLHF row: the dialogue of `chosen` before its last Assistant turn. */
function hhPrompt(chosen: string): Omit<PromptRecord, 'source'> | string {
  const parsed = parseHhDialogue(chosen);
  if ('error' in parsed) return parsed.error;
  const turns = parsed.turns;
  const lastAssistant = turns.map((t) => t.role).lastIndexOf('assistant');
  const before = lastAssistant >= 0 ? turns.slice(0, lastAssistant) : turns;
  const last = before[before.length - 1];
  if (!last || last.role !== 'user') return 'expected a Human turn before the last Assistant turn';
  return before.length > 1 ? { prompt: last.content, context: before.slice(0, -1) } : { prompt: last.content };
}

/** The format of one JSON row, from its fields. */
function rowFormat(row: Record<string, unknown>): PromptFormat | undefined {
  if (typeof row.question === 'string' && typeof row.image === 'string') return 'beavertails-v';
  if (typeof row.prompt === 'string') return 'response_0' in row ? 'pku' : 'prompt';
  if (typeof row.chosen === 'string') return 'hh';
  return undefined;
}

/**
 * Reads prompts from `path`. A file whose first non-blank line is a JSON object is JSONL: each row
 * gives `prompt` (PKU-SafeRLHF, `{prompt}`) or, for HH-RLHF (`chosen`/`rejected`), the dialogue
 * before the last Assistant turn. Any other file is plain text, one prompt per non-blank line.
 * Rows that give no prompt are reported by file:line and skipped.
 */
export function readPrompts(path: string): PromptFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    throw new DataFileError(`cannot read prompts file ${path}: ${(e as Error).message}`);
  }
  const lines = text.split(/\r?\n/).map((t, i) => ({ text: t.trim(), line: i + 1 })).filter((l) => l.text !== '');
  const first = lines[0]?.text ?? '';
  let jsonl = false;
  if (first.startsWith('{')) {
    try {
      jsonl = typeof JSON.parse(first) === 'object';
    } catch {
      jsonl = false;
    }
  }
  if (!jsonl) return { format: 'text', prompts: lines.map((l) => ({ prompt: l.text, source: `${path}:${l.line}` })), problems: [] };
  const prompts: PromptRecord[] = [];
  const problems: DataProblem[] = [];
  const formats = new Set<PromptFormat>();
  const problem = (line: number, kind: DataProblem['kind'], message: string) => problems.push({ file: path, line, kind, message, kept: false });
  for (const { text: t, line } of lines) {
    let row: unknown;
    try {
      row = JSON.parse(t);
    } catch (e) {
      problem(line, 'json', `not valid JSON (${(e as Error).message})`);
      continue;
    }
    const format = row !== null && typeof row === 'object' && !Array.isArray(row) ? rowFormat(row as Record<string, unknown>) : undefined;
    if (!format) {
      problem(line, 'schema', 'expected an object with a string "prompt" (PKU-SafeRLHF, {prompt}), "chosen" (HH-RLHF) or "question" and "image" (BeaverTails-V)');
      continue;
    }
    formats.add(format);
    const r = row as { prompt?: string; chosen?: string };
    if (format === 'hh') {
      const p = hhPrompt(r.chosen as string);
      if (typeof p === 'string') problem(line, 'dialogue', p);
      else prompts.push({ ...p, source: `${path}:${line}` });
    } else {
      const { kind, risky, image, question } = row as { kind?: unknown; risky?: unknown; image?: unknown; question?: string };
      const flag = typeof risky === 'boolean' ? risky : kind === 'risky' || kind === 'benign' ? kind === 'risky' : undefined;
      const where = typeof image === 'string' ? imageSourceOf(image) : image === undefined || image === null ? undefined : { problem: 'expected an image file path or base64 image data' };
      if (where && 'problem' in where) {
        problem(line, 'schema', `image: ${where.problem}`);
        continue;
      }
      const text = format === 'beavertails-v' ? (question as string) : (r.prompt as string);
      prompts.push({ prompt: text, source: `${path}:${line}`, ...(flag !== undefined ? { risky: flag } : {}), ...(where ? { image: where.source } : {}) });
    }
  }
  const format = formats.size === 1 ? ([...formats][0] as PromptFormat) : formats.has('hh') ? 'hh' : formats.has('pku') ? 'pku' : 'prompt';
  return { format, prompts, problems };
}
