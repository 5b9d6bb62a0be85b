// The pairs a judge labels: PKU-SafeRLHF rows (their labels kept for agreement figures) or plain {prompt, response_0, response_1} lines.
import { z } from 'zod';
import { loadRecords, type LoadResult, type ParseOutcome, type Sourced } from '../data/loader.js';
import { parsePkuSafeRlhf } from '../data/pku-saferlhf.js';
import type { PreferenceRecord } from '../data/record.js';
import { issuesFromZod } from '../data/zod-issues.js';

/** One pair to label; `given` holds the labels the input already had (PKU-SafeRLHF rows). */
export interface PairToLabel extends Sourced {
  record: PreferenceRecord;
  given: boolean;
}

const PlainPairSchema = z.object({ prompt: z.string(), response_0: z.string(), response_1: z.string() });

/** Parser of one input line: a PKU-SafeRLHF row when it has `better_response_id`, else a plain pair (extra keys ignored). */
export function parsePairToLabel(value: unknown): ParseOutcome<PairToLabel> {
  if (typeof value === 'object' && value !== null && 'better_response_id' in value) {
    const outcome = parsePkuSafeRlhf(value);
    if (!outcome.ok) return outcome;
    const { record, source } = { record: outcome.record, source: outcome.record.source };
    return { ok: true, record: { record, given: true, ...(source ? { source } : {}) }, warnings: outcome.warnings };
  }
  const parsed = PlainPairSchema.safeParse(value);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  const { prompt, response_0, response_1 } = parsed.data;
  return { ok: true, record: { record: { prompt, responses: [response_0, response_1], betterResponseId: 0 }, given: false }, warnings: [] };
}

/** Reads the pairs of `path`; unreadable lines are reported by file:line and skipped. */
export function readPairsToLabel(path: string, limit: number): Promise<LoadResult<PairToLabel>> {
  return loadRecords(path, parsePairToLabel, { inconsistent: 'keep', ...(limit > 0 ? { limit } : {}) });
}
