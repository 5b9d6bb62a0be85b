// Turns uploaded JSONL (PKU-SafeRLHF rows or {prompt, response_0, response_1}) into pairs to annotate.
import { z } from 'zod';
import { parsePkuSafeRlhf } from '../data/pku-saferlhf.js';
import { hasSafetyLabels } from '../data/record.js';
import type { GoldLabel, ItemKind } from './model.js';

/** One pair ready to store; `gold` is the known answer (required for gold and qualification items). */
export interface ImportItem {
  prompt: string;
  responses: [string, string];
  promptSource?: string;
  responseSources?: [string, string];
  gold?: GoldLabel;
}

/** The upload cannot be imported; `problems` are `line N: ...` strings. */
export class ImportError extends Error {
  override name = 'ImportError';
  constructor(readonly problems: string[]) {
    super(`cannot import: ${problems.length} problem(s):\n${problems.slice(0, 20).join('\n')}${problems.length > 20 ? '\n...' : ''}`);
  }
}

/** The unlabelled form; extra keys are ignored. */
const PlainPairSchema = z.object({
  prompt: z.string().min(1),
  response_0: z.string().min(1),
  response_1: z.string().min(1),
  prompt_source: z.string().nullish(),
  response_0_source: z.string().nullish(),
  response_1_source: z.string().nullish(),
});

/** Upper bound on pairs in one upload. */
export const MAX_IMPORT_ITEMS = 100_000;

/**
 * Parses JSONL text line by line. A line with `better_response_id` is read as PKU-SafeRLHF (its
 * labels become the gold answer); otherwise `{prompt, response_0, response_1}`. Gold and
 * qualification batches need labelled PKU-SafeRLHF rows. Any bad line rejects the whole upload.
 */
export function parseImport(text: string, kind: ItemKind): ImportItem[] {
  const items: ImportItem[] = [];
  const problems: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '') return;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (e) {
      problems.push(`line ${line}: not valid JSON (${(e as Error).message})`);
      return;
    }
    const labelled = typeof value === 'object' && value !== null && 'better_response_id' in value;
    if (labelled) {
      const outcome = parsePkuSafeRlhf(value);
      if (!outcome.ok) {
        for (const issue of outcome.issues) problems.push(`line ${line}: ${issue.field ? `${issue.field}: ` : ''}${issue.message}`);
        return;
      }
      const r = outcome.record;
      const item: ImportItem = { prompt: r.prompt, responses: r.responses };
      if (r.source?.prompt) item.promptSource = r.source.prompt;
      if (r.source?.responses) item.responseSources = r.source.responses;
      if (hasSafetyLabels(r)) {
        const gold: GoldLabel = { better: r.betterResponseId, safer: r.saferResponseId, isSafe: r.isSafe };
        if (r.categories) gold.categories = r.categories;
        if (r.severity) gold.severity = r.severity;
        item.gold = gold;
      }
      items.push(item);
      return;
    }
    const parsed = PlainPairSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push(
          `line ${line}: ${issue.path.join('.') || '(top level)'}: ${issue.message}; expected a PKU-SafeRLHF row or {"prompt", "response_0", "response_1"}`,
        );
      }
      return;
    }
    const p = parsed.data;
    const item: ImportItem = { prompt: p.prompt, responses: [p.response_0, p.response_1] };
    if (p.prompt_source) item.promptSource = p.prompt_source;
    if (p.response_0_source && p.response_1_source) item.responseSources = [p.response_0_source, p.response_1_source];
    items.push(item);
  });
  if (kind !== 'task') {
    items.forEach((item, i) => {
      if (!item.gold) problems.push(`pair ${i + 1}: ${kind} items need known answers: use PKU-SafeRLHF rows with safety labels`);
    });
  }
  if (items.length === 0 && problems.length === 0) problems.push('the upload has no pairs (expected one JSON object per line)');
  if (items.length > MAX_IMPORT_ITEMS) problems.push(`${items.length} pairs in one upload; the limit is ${MAX_IMPORT_ITEMS}: split the file`);
  if (problems.length > 0) throw new ImportError(problems);
  return items;
}
