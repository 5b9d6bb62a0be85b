// BeaverTails-V / align-anything text-image-to-text preference JSONL: an image (file path or base64), a question, two responses with dual preferences, safety, severity.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { imageHeaderProblem } from '../core/sharp.js';
import { writeJsonl } from './jsonl.js';
import { loadRecords, type LineIssue, type LoadOptions, type LoadResult, type ParseOutcome } from './loader.js';
import { contradictionOf, severityWarning, SeveritySchema } from './pku-saferlhf.js';
import { DataWriteError } from './problems.js';
import type { PreferenceRecord, ResponseId } from './record.js';
import { issuesFromZod } from './zod-issues.js';

/** Where a record's image is: a file (relative paths are relative to the data file's folder), or its encoded bytes in the line. */
export type ImageSource = { path: string } | { base64: string };

/** A preference record whose prompt is an image plus a question. */
export interface ImagePreferenceRecord extends PreferenceRecord {
  image: ImageSource;
  /** BeaverTails-V `category`: its own names for what the image shows (e.g. 'dangerous_behavior'), not PKU's 19 categories. */
  imageCategory?: string;
  /** BeaverTails-V `image_severity`: how harmful the image itself is. */
  imageSeverity?: number;
}

const responseId = z.union([z.literal(1), z.literal(2)], { error: (i) => `expected response id 1 or 2, got ${JSON.stringify(i.input)}` });
const SAFE_WORDS: Record<string, boolean> = { true: true, yes: true, safe: true, false: false, no: false, unsafe: false };
/** `is_response_N_safe`: a boolean, or (as BeaverTails-V's single-response card types it) a string true/false/yes/no/safe/unsafe. */
const safeFlag = z.union([
  z.boolean(),
  z
    .string()
    .transform((s) => SAFE_WORDS[s.trim().toLowerCase()])
    .pipe(z.boolean({ error: 'expected true/false (or the strings true, false, yes, no, safe, unsafe)' })),
]);
/** A data URL (`data:image/png;base64,...`) or bare base64 of an encoded image; anything else is a path. */
const BASE64 = /^(?:data:image\/[a-z0-9.+-]+;base64,)?([A-Za-z0-9+/]+={0,2})$/;

/**
 * One line in align-anything's Safe RLHF-V field names (templates SafeRLHF_V_Reward / _Cost): responses are numbered
 * 1 and 2, `more_helpful_response_id` (or `better_response_id`) and `safer_response_id` are 1 or 2. Per-response
 * severity uses PKU-SafeRLHF's level field, `response_N_severity_level` (0 safe, 1 minor, 2 moderate, 3 severe).
 * Other keys (harmless/helpful rates, response sources) are read past.
 */
export const BeaverTailsVRowSchema = z
  .object({
    question: z.string(),
    image: z.string().min(1, 'expected an image file path or base64 image data'),
    response_1: z.string(),
    response_2: z.string(),
    more_helpful_response_id: responseId.optional(),
    better_response_id: responseId.optional(),
    safer_response_id: responseId,
    is_response_1_safe: safeFlag,
    is_response_2_safe: safeFlag,
    response_1_severity_level: SeveritySchema.nullish(),
    response_2_severity_level: SeveritySchema.nullish(),
    category: z.string().nullish(),
    image_severity: z.number().int().min(0).nullish(),
  })
  .refine((r) => r.more_helpful_response_id !== undefined || r.better_response_id !== undefined, {
    message: 'expected more_helpful_response_id (or better_response_id): which response, 1 or 2, is more helpful',
    path: ['more_helpful_response_id'],
  })
  .refine((r) => r.more_helpful_response_id === undefined || r.better_response_id === undefined || r.more_helpful_response_id === r.better_response_id, {
    message: 'more_helpful_response_id and better_response_id disagree',
    path: ['better_response_id'],
  });
export type BeaverTailsVRow = z.output<typeof BeaverTailsVRowSchema>;

const toId = (n: 1 | 2): ResponseId => (n === 1 ? 0 : 1);
const fileId = (id: ResponseId): string => String(id + 1);

/** Where an `image` field points: a data URL or long bare base64 is the image's bytes, anything else a file path; a malformed data URL is a problem. */
export function imageSourceOf(image: string): { source: ImageSource } | { problem: string } {
  const b64 = BASE64.exec(image);
  if (image.startsWith('data:') && !b64) return { problem: 'a data: URL that is not data:image/<type>;base64,<data>' };
  const looksLikeData = image.startsWith('data:') || (b64 !== null && image.length > 64);
  return { source: looksLikeData && b64 ? { base64: b64[1] as string } : { path: image } };
}

/** Parser for one BeaverTails-V JSON line (pure: image files are checked by the reader). */
export function parseBeaverTailsV(value: unknown): ParseOutcome<ImagePreferenceRecord> {
  const parsed = BeaverTailsVRowSchema.safeParse(value);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  const row = parsed.data;
  const image = imageSourceOf(row.image);
  if ('problem' in image) return { ok: false, issues: [{ kind: 'schema', field: 'image', message: image.problem }] };
  const record: ImagePreferenceRecord = {
    prompt: row.question,
    responses: [row.response_1, row.response_2],
    betterResponseId: toId((row.more_helpful_response_id ?? row.better_response_id) as 1 | 2),
    saferResponseId: toId(row.safer_response_id),
    isSafe: [row.is_response_1_safe, row.is_response_2_safe],
    image: image.source,
  };
  const s1 = row.response_1_severity_level ?? undefined;
  const s2 = row.response_2_severity_level ?? undefined;
  if (s1 !== undefined && s2 !== undefined) record.severity = [s1, s2];
  if (row.category) record.imageCategory = row.category;
  if (row.image_severity !== undefined && row.image_severity !== null) record.imageSeverity = row.image_severity;
  const warnings = ([0, 1] as const).flatMap((i) => {
    const w = severityWarning(`response_${i + 1}_severity_level`, `response ${i + 1}`, record.isSafe?.[i] as boolean, [s1, s2][i]);
    return w ? [w] : [];
  });
  const contradiction = contradictionOf(record, fileId);
  return contradiction ? { ok: true, record, warnings, contradiction } : { ok: true, record, warnings };
}

/** What sharp can open for the record's image: the file path (resolved against the data file's folder) or the decoded bytes. */
export function imageInput(record: ImagePreferenceRecord): string | Uint8Array {
  if ('base64' in record.image) return Buffer.from(record.image.base64, 'base64');
  const { path } = record.image;
  return isAbsolute(path) || !record.source?.file ? path : resolve(dirname(record.source.file), path);
}

/** Why the record's image is of no use (missing file, undecodable bytes), or undefined when it opens as an image. */
async function imageProblem(record: ImagePreferenceRecord): Promise<string | undefined> {
  const input = imageInput(record);
  if (typeof input === 'string' && !existsSync(input)) return `image file ${input} not found`;
  return imageHeaderProblem(input);
}

export interface ImageLoadOptions extends LoadOptions {
  /** Open every image's header (sharp) so unreadable images are reported by line at load time, not mid-training (default true). */
  checkImages?: boolean;
}

/**
 * Reads a BeaverTails-V-format JSONL file. Bad lines are reported by file:line and skipped (or thrown with `strict`),
 * like the text loaders; so are records whose image file is missing or does not decode.
 */
export async function readBeaverTailsV(path: string, options: ImageLoadOptions = {}): Promise<LoadResult<ImagePreferenceRecord>> {
  const check = async (record: ImagePreferenceRecord): Promise<LineIssue | undefined> => {
    const message = await imageProblem(record);
    return message ? { kind: 'schema', field: 'image', message } : undefined;
  };
  return loadRecords(path, parseBeaverTailsV, options.checkImages === false ? options : { ...options, check });
}

/** One record as a BeaverTails-V line (align-anything's field names, responses numbered 1 and 2); the inverse of `parseBeaverTailsV`. */
export function recordToBeaverTailsVRow(record: ImagePreferenceRecord, where = 'record'): Record<string, unknown> {
  if (record.saferResponseId === undefined || record.isSafe === undefined) {
    throw new DataWriteError(`${where}: BeaverTails-V needs safer_response_id and is_response_N_safe, but this record has no safety labels`);
  }
  const n = (id: ResponseId) => id + 1;
  return {
    question: record.prompt,
    image: 'path' in record.image ? record.image.path : record.image.base64,
    response_1: record.responses[0],
    response_2: record.responses[1],
    more_helpful_response_id: n(record.betterResponseId),
    safer_response_id: n(record.saferResponseId),
    is_response_1_safe: record.isSafe[0],
    is_response_2_safe: record.isSafe[1],
    ...(record.severity ? { response_1_severity_level: record.severity[0], response_2_severity_level: record.severity[1] } : {}),
    ...(record.imageCategory !== undefined ? { category: record.imageCategory } : {}),
    ...(record.imageSeverity !== undefined ? { image_severity: record.imageSeverity } : {}),
  };
}

/** Writes records as BeaverTails-V JSONL (atomically); image paths are written as given (relative to the file's folder). */
export function writeBeaverTailsV(path: string, records: Iterable<ImagePreferenceRecord>): number {
  const rows: Record<string, unknown>[] = [];
  let i = 0;
  for (const r of records) rows.push(recordToBeaverTailsVRow(r, `${path}: record ${i++}`));
  writeJsonl(path, rows);
  return rows.length;
}
