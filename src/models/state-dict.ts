// Converts between safetensors records and engine tensors, and saves/loads whole state dicts.
import { fromBuffer, type DType, type Tensor } from '../torch/index.js';
import { bf16ToFloat32, f16ToFloat32 } from './half.js';
import { readSafetensorsDir, SafetensorsError, writeSafetensorsDir, type RawTensor, type StDtype } from './safetensors.js';

const TO_ENGINE: Partial<Record<StDtype, DType>> = { F32: 'float32', F64: 'float64', I64: 'int64', I32: 'int32', BOOL: 'bool' };
const FROM_ENGINE: Record<DType, StDtype> = { float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', bool: 'BOOL' };

/** Half-precision dtypes are upcast to float32 on load (the engine trains in float32). */
const UPCAST: Partial<Record<StDtype, (b: Uint8Array) => Float32Array>> = { F16: f16ToFloat32, BF16: bf16ToFloat32 };

/** A safetensors record -> tensor (copied). F16/BF16 become float32; unsupported dtypes are a clear error. */
export function rawToTensor(raw: RawTensor, where: { name?: string; file?: string } = {}): Tensor {
  const upcast = UPCAST[raw.dtype];
  if (upcast) {
    const f = upcast(raw.data);
    return fromBuffer(new Uint8Array(f.buffer, f.byteOffset, f.byteLength), 'float32', raw.shape);
  }
  const dtype = TO_ENGINE[raw.dtype];
  if (!dtype) {
    throw new SafetensorsError(
      `${where.file ?? '<state dict>'}: tensor '${where.name ?? '?'}' has dtype ${raw.dtype}, which safealign cannot load ` +
        `(supported: ${[...Object.keys(TO_ENGINE), ...Object.keys(UPCAST)].join(', ')}); convert it to float32 first`,
    );
  }
  return fromBuffer(raw.data, dtype, raw.shape);
}

/** Tensor -> safetensors record (contiguous little-endian bytes). */
export function tensorToRaw(t: Tensor): RawTensor {
  return { dtype: FROM_ENGINE[t.dtype], shape: [...t.shape], data: t.toBuffer() };
}

/** Loads every tensor of a model folder (single file or sharded). */
export function loadStateDict(dir: string): Map<string, Tensor> {
  const { tensors } = readSafetensorsDir(dir);
  const out = new Map<string, Tensor>();
  for (const [name, raw] of tensors) out.set(name, rawToTensor(raw, { name, file: dir }));
  return out;
}

/** Saves named tensors as model.safetensors (or shards) in `dir`. */
export function saveStateDict(
  dir: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  opts: { maxShardBytes?: number; metadata?: Record<string, string> } = {},
): string[] {
  const raw = new Map<string, RawTensor>();
  for (const [name, t] of tensors instanceof Map ? tensors : Object.entries(tensors)) raw.set(name, tensorToRaw(t));
  return writeSafetensorsDir(dir, raw, opts);
}
