// Generic chosen/rejected JSONL: `{prompt, chosen, rejected}` with strings or chat-message lists.
import { z } from 'zod';
import { loadRecords, type LoadOptions, type LoadResult, type ParseOutcome } from './loader.js';
import type { ChatMessage, PreferenceRecord } from './record.js';
import { issuesFromZod } from './zod-issues.js';

const message = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() });
const assistantAnswer = z.union([z.string(), z.array(message).length(1)]);

/**
 * One line of a generic preference file. `prompt` is a string or a list of chat messages ending
 * with a user message (TRL's conversational form); `chosen`/`rejected` are strings or a
 * one-element list holding the assistant message. Extra keys are ignored.
 */
export const PairRowSchema = z.object({
  prompt: z.union([z.string(), z.array(message).min(1)]),
  chosen: assistantAnswer,
  rejected: assistantAnswer,
});

function answerText(a: z.output<typeof assistantAnswer>): string {
  return typeof a === 'string' ? a : (a[0]?.content ?? '');
}

/** Parser for one generic pair line; `chosen` becomes response 0 (`betterResponseId` 0). */
export function parsePair(value: unknown): ParseOutcome {
  const parsed = PairRowSchema.safeParse(value);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  const row = parsed.data;
  for (const side of ['chosen', 'rejected'] as const) {
    const a = row[side];
    if (typeof a !== 'string' && a[0]?.role !== 'assistant') {
      return { ok: false, issues: [{ kind: 'schema', field: `${side}.0.role`, message: `expected "assistant", found "${a[0]?.role}"` }] };
    }
  }
  let prompt: string;
  let context: ChatMessage[] | undefined;
  if (typeof row.prompt === 'string') {
    prompt = row.prompt;
  } else {
    const last = row.prompt[row.prompt.length - 1] as ChatMessage;
    if (last.role !== 'user') {
      const field = `prompt.${row.prompt.length - 1}.role`;
      return { ok: false, issues: [{ kind: 'schema', field, message: `expected the last prompt message to be "user", found "${last.role}"` }] };
    }
    prompt = last.content;
    if (row.prompt.length > 1) context = row.prompt.slice(0, -1);
  }
  const record: PreferenceRecord = { prompt, responses: [answerText(row.chosen), answerText(row.rejected)], betterResponseId: 0 };
  if (context) record.context = context;
  return { ok: true, record, warnings: [] };
}

/** Reads a generic `{prompt, chosen, rejected}` JSONL file. */
export function readPairs(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  return loadRecords(path, parsePair, options);
}
