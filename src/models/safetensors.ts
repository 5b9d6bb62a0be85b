// Reads and writes the safetensors format (single files and HF sharded folders), validating every header.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/fs-atomic.js';

export type StDtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** One tensor as stored: little-endian bytes, row-major. */
export interface RawTensor {
  dtype: StDtype;
  shape: number[];
  data: Uint8Array;
}

export interface SafetensorsContent {
  metadata: Record<string, string>;
  tensors: Map<string, RawTensor>;
}

/** A safetensors file or folder that does not follow the format. Names the file and the tensor. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export const ITEM_SIZE: Record<StDtype, number> = {
  F64: 8,
  I64: 8,
  F32: 4,
  I32: 4,
  F16: 2,
  BF16: 2,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** The header of a file is capped (as in the reference implementation) so a lying length cannot exhaust memory. */
const MAX_HEADER_BYTES = 100_000_000;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Parses safetensors bytes. `file` is only used in error messages. */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsContent {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${file}: ${msg}`);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length; it is truncated or not safetensors`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(bytes.length - 8)) {
    fail(`header length ${headerLen} is larger than the ${bytes.length - 8} bytes after it; the file is truncated or the length is wrong`);
  }
  if (headerLen > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header must be a JSON object');
  const data = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const entries: { name: string; begin: number; end: number; raw: RawTensor }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} must be a string, found ${typeof v}`);
        metadata[k] = v as string;
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (typeof value !== 'object' || value === null) fail(`${where}: entry must be an object with dtype, shape, data_offsets`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE)) {
      fail(`${where}: unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(ITEM_SIZE).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${where}: shape must be a list of non-negative integers, found ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, found ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const dt = dtype as StDtype;
    const expected = numel(shape as number[]) * ITEM_SIZE[dt];
    if (end - begin !== expected) {
      fail(`${where}: ${end - begin} bytes in data_offsets but shape ${JSON.stringify(shape)} of ${dt} needs ${expected}`);
    }
    if (end > data.length) fail(`${where}: data_offsets end ${end} is past the ${data.length} data bytes; the file is truncated`);
    entries.push({ name, begin, end, raw: { dtype: dt, shape: [...(shape as number[])], data: data.subarray(begin, end) } });
  }
  // Tensors must tile the data buffer exactly: no overlap, no hole, nothing left over.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin < cursor) fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] overlap the previous tensor`);
    if (e.begin > cursor) fail(`tensor '${e.name}': gap of ${e.begin - cursor} bytes before its data; offsets do not cover the buffer`);
    cursor = e.end;
  }
  if (cursor !== data.length) fail(`${data.length - cursor} bytes after the last tensor are not described by the header`);
  const tensors = new Map<string, RawTensor>();
  for (const e of entries) tensors.set(e.name, e.raw);
  return { metadata, tensors };
}

/** Reads one .safetensors file. */
export function readSafetensors(path: string): SafetensorsContent {
  let bytes: Uint8Array;
  try {
    // A plain Uint8Array view, not a Buffer: Buffer.slice() would alias instead of copying.
    const buf = readFileSync(path);
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new SafetensorsError(`cannot read ${path}: ${(e as Error).message}`);
  }
  return parseSafetensors(bytes, path);
}

function toEntries(tensors: Map<string, RawTensor> | Record<string, RawTensor>): [string, RawTensor][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

/**
 * Serialises tensors: header JSON (keys sorted by name; data laid out in that order),
 * padded with spaces to a multiple of 8 bytes, then the data.
 */
export function serializeSafetensors(
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const list = toEntries(tensors).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of list) {
    const expected = numel(t.shape) * ITEM_SIZE[t.dtype];
    if (t.data.length !== expected) {
      throw new SafetensorsError(`tensor '${name}': ${t.data.length} bytes but shape ${JSON.stringify(t.shape)} of ${t.dtype} needs ${expected}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of list) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

/** Writes one .safetensors file atomically. */
export function writeSafetensors(
  path: string,
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Reads `model.safetensors` or the shards named by `model.safetensors.index.json` in `dir`. */
export function readSafetensorsDir(dir: string): SafetensorsContent {
  const indexPath = join(dir, INDEX_FILE);
  if (existsSync(indexPath)) {
    let index: { metadata?: Record<string, unknown>; weight_map?: Record<string, string> };
    try {
      index = JSON.parse(readFileSync(indexPath, 'utf8')) as typeof index;
    } catch (e) {
      throw new SafetensorsError(`${indexPath}: not valid JSON (${(e as Error).message})`);
    }
    const weightMap = index.weight_map;
    if (!weightMap || typeof weightMap !== 'object') throw new SafetensorsError(`${indexPath}: missing "weight_map" object`);
    const tensors = new Map<string, RawTensor>();
    const metadata: Record<string, string> = {};
    const shards = [...new Set(Object.values(weightMap))].sort();
    for (const shard of shards) {
      const content = readSafetensors(join(dir, shard));
      Object.assign(metadata, content.metadata);
      for (const [name, t] of content.tensors) {
        if (weightMap[name] !== shard) {
          throw new SafetensorsError(`${join(dir, shard)}: tensor '${name}' is not listed for this shard in ${INDEX_FILE}`);
        }
        tensors.set(name, t);
      }
    }
    for (const [name, shard] of Object.entries(weightMap)) {
      if (!tensors.has(name)) throw new SafetensorsError(`${indexPath}: tensor '${name}' is mapped to ${shard} but that shard does not contain it`);
    }
    return { metadata, tensors };
  }
  const single = join(dir, SINGLE_FILE);
  if (!existsSync(single)) {
    throw new SafetensorsError(`${dir}: neither ${SINGLE_FILE} nor ${INDEX_FILE} found; is this a Hugging Face model folder?`);
  }
  return readSafetensors(single);
}

/**
 * Writes tensors to `dir` as `model.safetensors`, or, when they exceed `maxShardBytes`, as
 * `model-00001-of-0000N.safetensors` shards plus `model.safetensors.index.json` (HF naming).
 */
export function writeSafetensorsDir(
  dir: string,
  tensors: Map<string, RawTensor> | Record<string, RawTensor>,
  opts: { maxShardBytes?: number; metadata?: Record<string, string> } = {},
): string[] {
  mkdirSync(dir, { recursive: true });
  const metadata = { format: 'pt', ...opts.metadata };
  const list = toEntries(tensors).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const total = list.reduce((s, [, t]) => s + t.data.length, 0);
  const max = opts.maxShardBytes ?? Infinity;
  if (total <= max) {
    writeSafetensors(join(dir, SINGLE_FILE), new Map(list), metadata);
    return [SINGLE_FILE];
  }
  const shards: [string, RawTensor][][] = [[]];
  let size = 0;
  for (const entry of list) {
    const current = shards[shards.length - 1] as [string, RawTensor][];
    if (current.length && size + entry[1].data.length > max) {
      shards.push([entry]);
      size = entry[1].data.length;
    } else {
      current.push(entry);
      size += entry[1].data.length;
    }
  }
  const count = String(shards.length).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  const names = shards.map((shard, i) => {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${count}.safetensors`;
    writeSafetensors(join(dir, name), new Map(shard), metadata);
    for (const [t] of shard) weightMap[t] = name;
    return name;
  });
  writeJsonAtomic(join(dir, INDEX_FILE), { metadata: { total_size: total }, weight_map: weightMap });
  return [...names, INDEX_FILE];
}
