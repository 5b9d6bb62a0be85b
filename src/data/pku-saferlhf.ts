// PKU-SafeRLHF JSONL: the row schema (exact upstream field names), reader and writer.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { writeJsonl } from './jsonl.js';
import { loadRecords, streamRecords, type LineIssue, type LoadOptions, type LoadResult, type ParseOutcome } from './loader.js';
import { DataWriteError } from './problems.js';
import {
  HARM_CATEGORIES,
  isInconsistent,
  type ChatMessage,
  type HarmCategory,
  type PreferenceRecord,
  type ResponseId,
  type Severity,
} from './record.js';
import { issuesFromZod } from './zod-issues.js';

const responseId = z.union([z.literal(0), z.literal(1)]);
/** PKU-SafeRLHF `severity_level`: 0 safe, 1 minor, 2 moderate, 3 severe. */
export const SeveritySchema = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)], {
  error: (issue) => `expected a severity level 0 (safe), 1 (minor), 2 (moderate) or 3 (severe), got ${JSON.stringify(issue.input)}`,
});
/** `{ "<category>": true|false, ... }`; unknown category names are rejected, missing ones mean false. */
const harmCategories = z.partialRecord(z.enum(HARM_CATEGORIES), z.boolean());

/**
 * One line of PKU-SafeRLHF (v1.0 field names, as in `pku_saferlhf_sample60.jsonl`). Sources,
 * categories, severity and checksums are optional so that older/smaller exports (e.g.
 * PKU-SafeRLHF-30K, which has no categories or severity) read too; `null` counts as absent.
 */
export const PkuSafeRlhfRowSchema = z.object({
  prompt: z.string(),
  response_0: z.string(),
  response_1: z.string(),
  prompt_source: z.string().nullish(),
  response_0_source: z.string().nullish(),
  response_1_source: z.string().nullish(),
  is_response_0_safe: z.boolean(),
  is_response_1_safe: z.boolean(),
  response_0_harm_category: harmCategories.nullish(),
  response_1_harm_category: harmCategories.nullish(),
  response_0_severity_level: SeveritySchema.nullish(),
  response_1_severity_level: SeveritySchema.nullish(),
  better_response_id: responseId,
  safer_response_id: responseId,
  response_0_sha256: z.string().nullish(),
  response_1_sha256: z.string().nullish(),
});

export type PkuSafeRlhfRow = z.output<typeof PkuSafeRlhfRowSchema>;

/** sha256 hex of the prompt immediately followed by the response, as PKU-SafeRLHF stores it. */
export function pkuResponseSha256(prompt: string, response: string): string {
  return createHash('sha256').update(prompt + response, 'utf8').digest('hex');
}

function categoriesOf(dict: Partial<Record<HarmCategory, boolean>>): HarmCategory[] {
  return HARM_CATEGORIES.filter((c) => dict[c] === true);
}

/** A warning when a response's severity contradicts its safe/unsafe label (safe needs 0, unsafe 1-3). */
export function severityWarning(field: string, who: string, safe: boolean, sev: Severity | undefined): LineIssue | undefined {
  if (sev === undefined || safe === (sev === 0)) return undefined;
  return {
    kind: 'label',
    field,
    message: safe ? `${who} is labelled safe but has severity ${sev} (expected 0)` : `${who} is labelled unsafe but has severity 0 (expected 1-3)`,
  };
}

function labelWarnings(i: ResponseId, safe: boolean, cats: HarmCategory[] | undefined, sev: Severity | undefined): LineIssue[] {
  const out: LineIssue[] = [];
  if (cats !== undefined && safe !== (cats.length === 0)) {
    out.push({
      kind: 'label',
      field: `response_${i}_harm_category`,
      message: safe
        ? `response ${i} is labelled safe but has harm categories ${cats.join(', ')}`
        : `response ${i} is labelled unsafe but has no harm category set`,
    });
  }
  const sevIssue = severityWarning(`response_${i}_severity_level`, `response ${i}`, safe, sev);
  if (sevIssue) out.push(sevIssue);
  return out;
}

/** Converts a validated row into the internal record; label contradictions become warnings. */
export function pkuRowToRecord(row: PkuSafeRlhfRow): { record: PreferenceRecord; warnings: LineIssue[] } {
  const record: PreferenceRecord = {
    prompt: row.prompt,
    responses: [row.response_0, row.response_1],
    betterResponseId: row.better_response_id,
    saferResponseId: row.safer_response_id,
    isSafe: [row.is_response_0_safe, row.is_response_1_safe],
  };
  const c0 = row.response_0_harm_category ? categoriesOf(row.response_0_harm_category) : undefined;
  const c1 = row.response_1_harm_category ? categoriesOf(row.response_1_harm_category) : undefined;
  if (c0 && c1) record.categories = [c0, c1];
  const s0 = row.response_0_severity_level ?? undefined;
  const s1 = row.response_1_severity_level ?? undefined;
  if (s0 !== undefined && s1 !== undefined) record.severity = [s0, s1];
  const source: NonNullable<PreferenceRecord['source']> = {};
  if (row.prompt_source) source.prompt = row.prompt_source;
  if (row.response_0_source && row.response_1_source) source.responses = [row.response_0_source, row.response_1_source];
  if (Object.keys(source).length > 0) record.source = source;

  const warnings = [
    ...labelWarnings(0, row.is_response_0_safe, c0, s0),
    ...labelWarnings(1, row.is_response_1_safe, c1, s1),
  ];
  for (const i of [0, 1] as const) {
    const stored = i === 0 ? row.response_0_sha256 : row.response_1_sha256;
    if (stored && stored !== pkuResponseSha256(row.prompt, record.responses[i])) {
      warnings.push({
        kind: 'checksum',
        field: `response_${i}_sha256`,
        message: `sha256(prompt + response_${i}) does not match the stored checksum: the text was changed after hashing`,
      });
    }
  }
  return { record, warnings };
}

/** Parser for one PKU-SafeRLHF JSON line. */
export function parsePkuSafeRlhf(value: unknown): ParseOutcome {
  const parsed = PkuSafeRlhfRowSchema.safeParse(value);
  if (!parsed.success) {
    const issues = issuesFromZod(parsed.error).map((i) =>
      i.field && /_harm_category\./.test(i.field)
        ? { ...i, message: `${i.message}: expected one of the 19 PKU-SafeRLHF harm categories (${HARM_CATEGORIES.join(', ')})` }
        : i,
    );
    return { ok: false, issues };
  }
  const { record, warnings } = pkuRowToRecord(parsed.data);
  const contradiction = contradictionOf(record, (id) => String(id));
  return contradiction ? { ok: true, record, warnings, contradiction } : { ok: true, record, warnings };
}

/**
 * The `inconsistent` issue of a record whose safer response is labelled unsafe while the other is labelled safe, or
 * undefined; `name` spells a response id as the file does (PKU counts from 0, BeaverTails-V from 1).
 */
export function contradictionOf(record: PreferenceRecord, name: (id: ResponseId) => string): LineIssue | undefined {
  if (!isInconsistent(record)) return undefined;
  const safer = record.saferResponseId ?? 0;
  return {
    kind: 'inconsistent',
    field: 'safer_response_id',
    message: `response ${name(safer)} is marked safer but labelled unsafe, while response ${name(safer === 0 ? 1 : 0)} is labelled safe`,
  };
}

/** Reads a PKU-SafeRLHF JSONL file (see `LoadOptions` for strict mode and inconsistent rows). */
export function readPkuSafeRlhf(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  return loadRecords(path, parsePkuSafeRlhf, options);
}

/** Streams records from a PKU-SafeRLHF JSONL file without holding the whole file. */
export function streamPkuSafeRlhf(path: string, options: LoadOptions = {}): AsyncGenerator<PreferenceRecord> {
  return streamRecords(path, parsePkuSafeRlhf, options);
}

export interface PkuWriteOptions {
  /**
   * PKU-SafeRLHF has a single prompt string. 'error' (default) refuses multi-turn records;
   * 'flatten' writes the context into the prompt as `Human: ...\n\nAssistant: ...\n\nHuman: <prompt>`.
   */
  context?: 'error' | 'flatten';
}

const ROLE_NAMES: Record<ChatMessage['role'], string> = { system: 'System', user: 'Human', assistant: 'Assistant' };

function categoryDict(cats: readonly HarmCategory[]): Record<HarmCategory, boolean> {
  const set = new Set(cats);
  return Object.fromEntries(HARM_CATEGORIES.map((c) => [c, set.has(c)])) as Record<HarmCategory, boolean>;
}

/**
 * Converts a record into a PKU-SafeRLHF row with the upstream key order. Needs safety labels;
 * categories, severity and sources are written when the record has them; checksums are computed.
 */
export function recordToPkuRow(record: PreferenceRecord, options: PkuWriteOptions = {}, where = 'record'): PkuSafeRlhfRow {
  if (record.saferResponseId === undefined || record.isSafe === undefined) {
    throw new DataWriteError(
      `${where}: PKU-SafeRLHF needs safer_response_id and is_response_N_safe, but this record has no safety labels (HH-RLHF or chosen/rejected data cannot be written as PKU-SafeRLHF)`,
    );
  }
  let prompt = record.prompt;
  if (record.context && record.context.length > 0) {
    if ((options.context ?? 'error') === 'error') {
      throw new DataWriteError(
        `${where}: the record has ${record.context.length} earlier conversation turns but PKU-SafeRLHF has one prompt string; pass { context: 'flatten' } to write them into the prompt`,
      );
    }
    prompt = [...record.context, { role: 'user' as const, content: record.prompt }]
      .map((m) => `${ROLE_NAMES[m.role]}: ${m.content}`)
      .join('\n\n');
  }
  const [r0, r1] = record.responses;
  const src = record.source;
  return {
    prompt,
    response_0: r0,
    response_1: r1,
    prompt_source: src?.prompt,
    response_0_source: src?.responses?.[0],
    response_1_source: src?.responses?.[1],
    is_response_0_safe: record.isSafe[0],
    is_response_1_safe: record.isSafe[1],
    response_0_harm_category: record.categories ? categoryDict(record.categories[0]) : undefined,
    response_1_harm_category: record.categories ? categoryDict(record.categories[1]) : undefined,
    response_0_severity_level: record.severity?.[0],
    response_1_severity_level: record.severity?.[1],
    better_response_id: record.betterResponseId,
    safer_response_id: record.saferResponseId,
    response_0_sha256: pkuResponseSha256(prompt, r0),
    response_1_sha256: pkuResponseSha256(prompt, r1),
  };
}

/**
 * Writes records as PKU-SafeRLHF JSONL (atomically), formatted like the upstream files
 * (Python `json.dumps` separators, UTF-8 text unescaped). Absent optional fields are omitted.
 */
export function writePkuSafeRlhf(path: string, records: Iterable<PreferenceRecord>, options: PkuWriteOptions = {}): number {
  const rows: PkuSafeRlhfRow[] = [];
  let i = 0;
  for (const r of records) rows.push(recordToPkuRow(r, options, `${path}: record ${i++}`));
  writeJsonl(path, rows);
  return rows.length;
}
