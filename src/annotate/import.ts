// Turns uploaded JSONL (PKU-SafeRLHF rows, BeaverTails-V image + text rows, or {prompt, response_0, response_1[, image]}) into pairs to annotate.
import { lstat, readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { openImage } from '../core/sharp.js';
import { imageSourceOf, parseBeaverTailsV, type ImageSource } from '../data/beavertails-v.js';
import { parsePkuSafeRlhf } from '../data/pku-saferlhf.js';
import { hasSafetyLabels, type PreferenceRecord } from '../data/record.js';
import { MAX_IMAGE_BYTES, MAX_IMAGE_SIDE } from './limits.js';
import type { GoldLabel, ItemKind } from './model.js';

/** An image shown beside a pair's prompt, as stored and served: a checked content type and the bytes. */
export interface ImportImage {
  contentType: string;
  data: Buffer;
}

/** One pair ready to store; `gold` is the known answer (required for gold and qualification items). */
export interface ImportItem {
  prompt: string;
  responses: [string, string];
  promptSource?: string;
  responseSources?: [string, string];
  gold?: GoldLabel;
  /** Where the upload's line said the image is (read by `loadImportImages`, which sets `image`). */
  imageSource?: { source: ImageSource; line: number };
  image?: ImportImage;
}

/** The formats the page shows, by sharp's name for them: raster only (an SVG may carry script). */
export const IMAGE_CONTENT_TYPES: Readonly<Record<string, string>> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif' };

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
  image: z.string().min(1).nullish(),
  prompt_source: z.string().nullish(),
  response_0_source: z.string().nullish(),
  response_1_source: z.string().nullish(),
});

/** Upper bound on pairs in one upload. */
export const MAX_IMPORT_ITEMS = 100_000;

/** An import item from a labelled record (PKU-SafeRLHF or BeaverTails-V): its labels become the gold answer. */
function labelledItem(r: PreferenceRecord): ImportItem {
  const item: ImportItem = { prompt: r.prompt, responses: r.responses };
  if (r.source?.prompt) item.promptSource = r.source.prompt;
  if (r.source?.responses) item.responseSources = r.source.responses;
  if (hasSafetyLabels(r)) {
    const gold: GoldLabel = { better: r.betterResponseId, safer: r.saferResponseId, isSafe: r.isSafe };
    if (r.categories) gold.categories = r.categories;
    if (r.severity) gold.severity = r.severity;
    item.gold = gold;
  }
  return item;
}

/**
 * Parses JSONL text line by line. A line with `question` and `image` is read as BeaverTails-V (image + text, labelled);
 * one with `better_response_id` as PKU-SafeRLHF (its labels become the gold answer); otherwise `{prompt, response_0,
 * response_1}` with an optional `image`. Gold and qualification batches need labelled rows. Images are only located here
 * (`imageSource`); `loadImportImages` reads and checks them. Any bad line rejects the whole upload.
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
    const fields = typeof value === 'object' && value !== null ? value : {};
    if ('question' in fields && 'image' in fields) {
      const outcome = parseBeaverTailsV(value);
      if (!outcome.ok) {
        for (const issue of outcome.issues) problems.push(`line ${line}: ${issue.field ? `${issue.field}: ` : ''}${issue.message}`);
        return;
      }
      items.push({ ...labelledItem(outcome.record), imageSource: { source: outcome.record.image, line } });
      return;
    }
    if ('better_response_id' in fields) {
      const outcome = parsePkuSafeRlhf(value);
      if (!outcome.ok) {
        for (const issue of outcome.issues) problems.push(`line ${line}: ${issue.field ? `${issue.field}: ` : ''}${issue.message}`);
        return;
      }
      items.push(labelledItem(outcome.record));
      return;
    }
    const parsed = PlainPairSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push(
          `line ${line}: ${issue.path.join('.') || '(top level)'}: ${issue.message}; expected a PKU-SafeRLHF row, a BeaverTails-V row or {"prompt", "response_0", "response_1"}`,
        );
      }
      return;
    }
    const p = parsed.data;
    const item: ImportItem = { prompt: p.prompt, responses: [p.response_0, p.response_1] };
    if (p.prompt_source) item.promptSource = p.prompt_source;
    if (p.response_0_source && p.response_1_source) item.responseSources = [p.response_0_source, p.response_1_source];
    if (p.image) {
      const image = imageSourceOf(p.image);
      if ('problem' in image) {
        problems.push(`line ${line}: image: ${image.problem}`);
        return;
      }
      item.imageSource = { source: image.source, line };
    }
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

/** An image the upload may not use; the message says why and what to do. */
class ImageRefused extends Error {}

/** The real path of `path` inside `root` (both resolved through links), or a refusal: absolute paths, `..` and links out of the folder. */
async function pathInside(root: string, path: string): Promise<string> {
  if (isAbsolute(path)) throw new ImageRefused(`${JSON.stringify(path)} is an absolute path; give a path relative to the image folder`);
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(resolve(realRoot, path));
  } catch {
    throw new ImageRefused(`${JSON.stringify(path)} is not in the image folder`);
  }
  const rel = relative(realRoot, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new ImageRefused(`${JSON.stringify(path)} leads outside the image folder; only files inside it are read`);
  return real;
}

/** The bytes an image source stands for, within the size limit: base64 decoded, or a file inside `imageDir`. */
async function imageBytes(source: ImageSource, imageDir: string | undefined, maxBytes: number): Promise<Buffer> {
  const tooBig = (n: number) => new ImageRefused(`the image is ${n} bytes; the limit is ${maxBytes} (shrink it)`);
  if ('base64' in source) {
    const estimate = Math.floor((source.base64.length * 3) / 4);
    if (estimate > maxBytes + 2) throw tooBig(estimate);
    return Buffer.from(source.base64, 'base64');
  }
  if (!imageDir) {
    throw new ImageRefused(`${JSON.stringify(source.path)} is a file path, but the server has no image folder: start it with --image-dir DIR (paths are read inside it), or put the image in the line as base64`);
  }
  const file = await pathInside(imageDir, source.path);
  const info = await lstat(file);
  if (!info.isFile()) throw new ImageRefused(`${JSON.stringify(source.path)} is not a file`);
  if (info.size > maxBytes) throw tooBig(info.size);
  return readFile(file);
}

/** What the bytes are, by their content (never by a name or a claimed type): one of IMAGE_CONTENT_TYPES, with a sane size. */
async function checkedImage(data: Buffer): Promise<ImportImage> {
  let format: string | undefined;
  let width = 0;
  let height = 0;
  try {
    ({ format, width = 0, height = 0 } = await (await openImage(data)).metadata());
  } catch (e) {
    throw new ImageRefused(`not a readable image (${(e as Error).message})`);
  }
  const contentType = format ? IMAGE_CONTENT_TYPES[format] : undefined;
  if (!contentType) throw new ImageRefused(`the image is ${format ?? 'of an unknown format'}; the app shows ${Object.keys(IMAGE_CONTENT_TYPES).join(', ')} images`);
  if (!(width > 0 && height > 0) || Math.max(width, height) > MAX_IMAGE_SIDE) throw new ImageRefused(`the image is ${width}x${height} pixels; its longer side may be at most ${MAX_IMAGE_SIDE}`);
  return { contentType, data };
}

/**
 * Reads and checks the images of parsed items (`imageSource` -> `image`): base64 data, or files inside `imageDir` (never
 * outside it), at most `maxBytes` each, of a raster format told by content. Any refused image rejects the upload, by line.
 */
export async function loadImportImages(items: ImportItem[], options: { imageDir?: string | undefined; maxBytes?: number } = {}): Promise<void> {
  const problems: string[] = [];
  for (const item of items) {
    if (!item.imageSource) continue;
    const { source, line } = item.imageSource;
    try {
      item.image = await checkedImage(await imageBytes(source, options.imageDir, options.maxBytes ?? MAX_IMAGE_BYTES));
    } catch (e) {
      if (!(e instanceof ImageRefused)) throw e;
      problems.push(`line ${line}: image: ${e.message}`);
    }
  }
  if (problems.length > 0) throw new ImportError(problems);
}
