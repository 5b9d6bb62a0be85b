// Anthropic HH-RLHF JSONL: `chosen`/`rejected` whole dialogues -> shared context + two final assistant turns.
import { z } from 'zod';
import { loadRecords, type LineIssue, type LoadOptions, type LoadResult, type ParseOutcome } from './loader.js';
import type { ChatMessage, PreferenceRecord } from './record.js';
import { issuesFromZod } from './zod-issues.js';

/** One line of HH-RLHF: two complete dialogues in `\n\nHuman: ...\n\nAssistant: ...` form. */
export const HhRlhfRowSchema = z.object({ chosen: z.string(), rejected: z.string() });

const TURN_MARK = /\n\n(Human|Assistant):/;

/**
 * Splits an HH-RLHF dialogue into turns. Each turn starts at `\n\nHuman:` or `\n\nAssistant:`;
 * contents are trimmed. Returns an error string if there is text before the first turn.
 */
export function parseHhDialogue(text: string): { turns: ChatMessage[] } | { error: string } {
  const parts = text.split(TURN_MARK);
  const head = parts[0] ?? '';
  if (head.trim() !== '') {
    return { error: `expected the dialogue to start with "\\n\\nHuman:", found ${JSON.stringify(head.slice(0, 40))}` };
  }
  const turns: ChatMessage[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2) {
    turns.push({ role: parts[i] === 'Human' ? 'user' : 'assistant', content: (parts[i + 1] ?? '').trim() });
  }
  return { turns };
}

function sameTurns(a: ChatMessage[], b: ChatMessage[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i]?.role !== b[i]?.role || a[i]?.content !== b[i]?.content) return i;
  }
  return a.length === b.length ? -1 : n;
}

/**
 * Parser for one HH-RLHF line. The shared turns before the final assistant turn become the
 * prompt (last user turn) and `context` (earlier turns); the two final assistant turns are the
 * responses, with `chosen` as response 0 (`betterResponseId` 0). No safety labels.
 */
export function parseHhRlhf(value: unknown): ParseOutcome {
  const parsed = HhRlhfRowSchema.safeParse(value);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  const sides = { chosen: parseHhDialogue(parsed.data.chosen), rejected: parseHhDialogue(parsed.data.rejected) };
  const issues: LineIssue[] = [];
  const turns: Record<'chosen' | 'rejected', ChatMessage[]> = { chosen: [], rejected: [] };
  for (const side of ['chosen', 'rejected'] as const) {
    const d = sides[side];
    if ('error' in d) {
      issues.push({ kind: 'dialogue', field: side, message: d.error });
      continue;
    }
    const last = d.turns[d.turns.length - 1];
    if (!last || last.role !== 'assistant' || d.turns.length < 2) {
      issues.push({ kind: 'dialogue', field: side, message: 'expected at least one Human turn followed by a final Assistant turn' });
      continue;
    }
    const prompt = d.turns[d.turns.length - 2];
    if (prompt?.role !== 'user') {
      issues.push({ kind: 'dialogue', field: side, message: 'expected the turn before the final Assistant turn to be a Human turn' });
      continue;
    }
    turns[side] = d.turns;
  }
  if (issues.length > 0) return { ok: false, issues };
  const prefixC = turns.chosen.slice(0, -1);
  const prefixR = turns.rejected.slice(0, -1);
  const differsAt = sameTurns(prefixC, prefixR);
  if (differsAt >= 0) {
    return {
      ok: false,
      issues: [
        {
          kind: 'dialogue',
          message: `chosen and rejected must share every turn before their final Assistant turn, but they differ at turn ${differsAt + 1} (chosen has ${prefixC.length} earlier turns, rejected ${prefixR.length})`,
        },
      ],
    };
  }
  const prompt = prefixC[prefixC.length - 1] as ChatMessage;
  const record: PreferenceRecord = {
    prompt: prompt.content,
    responses: [turns.chosen[turns.chosen.length - 1]?.content ?? '', turns.rejected[turns.rejected.length - 1]?.content ?? ''],
    betterResponseId: 0,
  };
  if (prefixC.length > 1) record.context = prefixC.slice(0, -1);
  return { ok: true, record, warnings: [] };
}

/** Reads an HH-RLHF JSONL file. */
export function readHhRlhf(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  return loadRecords(path, parseHhRlhf, options);
}
