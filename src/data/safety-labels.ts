// Per-response safety labels: `{prompt, response, is_safe}` JSONL, or PKU-SafeRLHF pairs expanded into their two labelled responses.
import { z } from 'zod';
import { resolveFormat, PARSERS } from './formats.js';
import { readJsonl } from './jsonl.js';
import { loadRecords, type LoadOptions, type LoadResult, type ParseOutcome } from './loader.js';
import { DataFormatError } from './problems.js';
import { SeveritySchema, severityWarning } from './pku-saferlhf.js';
import { hasSafetyLabels, type ChatMessage, type PreferenceRecord, type RecordSource, type Severity } from './record.js';
import { issuesFromZod } from './zod-issues.js';

/** One response with a safe/unsafe label and no pair: what a cost model can learn the sign of harm from. */
export interface SafetyLabel {
  /** The final user message the response answers. */
  prompt: string;
  /** Earlier turns, oldest first; absent for a single-turn prompt. */
  context?: ChatMessage[];
  response: string;
  isSafe: boolean;
  /** Severity 0-3 (0 safe, 1 minor, 2 moderate, 3 severe), when labelled. */
  severity?: Severity;
  source?: RecordSource;
}

/** One line of a safety-label file (`severity_level` optional, as in PKU-SafeRLHF); extra keys are ignored. */
export const SafetyLabelRowSchema = z.object({ prompt: z.string(), response: z.string(), is_safe: z.boolean(), severity_level: SeveritySchema.nullish() });

/** Parser for one `{prompt, response, is_safe}` line. */
export function parseSafetyLabel(value: unknown): ParseOutcome<SafetyLabel> {
  const parsed = SafetyLabelRowSchema.safeParse(value);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  const { prompt, response, is_safe: isSafe, severity_level: severity } = parsed.data;
  const warning = severityWarning('severity_level', 'the response', isSafe, severity ?? undefined);
  return { ok: true, record: { prompt, response, isSafe, ...(severity != null ? { severity } : {}) }, warnings: warning ? [warning] : [] };
}

/** The two labelled responses of every record that has safety labels, in order (records without labels give none). */
export function labelsFromPreferences(records: readonly PreferenceRecord[]): SafetyLabel[] {
  return records.filter(hasSafetyLabels).flatMap((r) =>
    ([0, 1] as const).map((i) => ({
      prompt: r.prompt,
      ...(r.context ? { context: r.context } : {}),
      response: r.responses[i],
      isSafe: r.isSafe[i],
      ...(r.severity ? { severity: r.severity[i] } : {}),
      ...(r.source ? { source: r.source } : {}),
    })),
  );
}

/** Files per-response labels come from: label JSONL, or PKU-SafeRLHF (each pair gives two labels). */
export type LabelFormat = 'labels' | 'pku';

/** `labels` when the first JSON line has `is_safe`, `pku` for PKU-SafeRLHF; any other format has no safety labels (a `DataFormatError`). */
export async function detectLabelFormat(path: string): Promise<LabelFormat> {
  for await (const item of readJsonl(path)) {
    if ('error' in item) continue;
    if (typeof item.value === 'object' && item.value !== null && 'is_safe' in item.value) return 'labels';
    break;
  }
  const format = await resolveFormat(path);
  if (format === 'pku') return 'pku';
  throw new DataFormatError({
    file: path,
    line: 0,
    kind: 'schema',
    kept: false,
    message: `${format} data has no safety labels: per-response labels come from {prompt, response, is_safe} JSONL or PKU-SafeRLHF (is_response_N_safe)`,
  });
}

/**
 * Reads per-response safety labels. PKU-SafeRLHF records give both their responses (rows whose
 * safer/unsafe ordering contradicts their labels are kept: each label alone is still meaningful).
 * `stats` count the file's lines and records; `records` are the labels.
 */
export async function loadSafetyLabels(path: string, options: LoadOptions & { format?: LabelFormat | 'auto' } = {}): Promise<LoadResult<SafetyLabel> & { format: LabelFormat }> {
  const format = options.format === undefined || options.format === 'auto' ? await detectLabelFormat(path) : options.format;
  if (format === 'labels') return { ...(await loadRecords(path, parseSafetyLabel, options)), format };
  const pairs = await loadRecords(path, PARSERS.pku, { inconsistent: 'keep', ...options });
  return { ...pairs, records: labelsFromPreferences(pairs.records), format };
}
