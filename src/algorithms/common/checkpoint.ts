// Resumable training checkpoints: any nested state (tensors, numbers, arrays) to safetensors + JSON, and back.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../core/fs-atomic.js';
import { readSafetensors, writeSafetensors, type RawTensor } from '../../models/safetensors.js';
import { rawToTensor, tensorToRaw } from '../../models/state-dict.js';
import { Tensor } from '../../torch/index.js';

/** State a trainer saves: nested objects and arrays whose leaves are tensors or JSON values. */
export type TrainingState = Tensor | number | string | boolean | null | TrainingState[] | { [key: string]: TrainingState };

const TENSOR_REF = '__tensor__';

function flatten(state: TrainingState, path: string, tensors: Map<string, RawTensor>): unknown {
  if (state instanceof Tensor) {
    tensors.set(path, tensorToRaw(state));
    return { [TENSOR_REF]: path };
  }
  if (Array.isArray(state)) return state.map((s, i) => flatten(s, `${path}.${i}`, tensors));
  if (state !== null && typeof state === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(state)) out[k] = flatten(v, path ? `${path}.${k}` : k, tensors);
    return out;
  }
  return state;
}

function unflatten(json: unknown, tensors: Map<string, RawTensor>, file: string): TrainingState {
  if (Array.isArray(json)) return json.map((j) => unflatten(j, tensors, file));
  if (json !== null && typeof json === 'object') {
    const ref = (json as Record<string, unknown>)[TENSOR_REF];
    if (typeof ref === 'string') {
      const raw = tensors.get(ref);
      if (!raw) throw new Error(`${file}: checkpoint refers to tensor '${ref}' which is missing; the checkpoint is damaged, delete it to restart`);
      return rawToTensor(raw, { name: ref, file });
    }
    const out: Record<string, TrainingState> = {};
    for (const [k, v] of Object.entries(json)) out[k] = unflatten(v, tensors, file);
    return out;
  }
  return json as TrainingState;
}

/**
 * Writes `state` into `dir` (state.json + state.safetensors). The previous checkpoint is replaced
 * only after the new one is complete, so a kill during saving leaves the old one usable.
 */
export function saveCheckpoint(dir: string, state: TrainingState): void {
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const tensors = new Map<string, RawTensor>();
  const json = flatten(state, '', tensors);
  writeSafetensors(join(tmp, 'state.safetensors'), tensors);
  writeJsonAtomic(join(tmp, 'state.json'), json);
  const old = `${dir}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** Reads a checkpoint written by saveCheckpoint, or returns null when there is none. */
export function loadCheckpoint(dir: string): TrainingState | null {
  // A kill between the two renames of saveCheckpoint leaves only `<dir>.old`: use it.
  const where = existsSync(join(dir, 'state.json')) ? dir : existsSync(join(`${dir}.old`, 'state.json')) ? `${dir}.old` : null;
  if (!where) return null;
  const file = join(where, 'state.safetensors');
  const tensors = readSafetensors(file).tensors;
  return unflatten(JSON.parse(readFileSync(join(where, 'state.json'), 'utf8')), tensors, file);
}

/** What a supervised trainer (SFT, reward, cost) checkpoints: step, log, weights and optimiser state. */
interface Resumable {
  loadStateDict(sd: Record<string, Tensor>): void;
  stateDict(): Record<string, Tensor>;
}
interface ResumableOptimizer {
  loadStateDict(sd: never): void;
  stateDict(): unknown;
}

/** Restores model and optimiser from `<dir>` if a checkpoint is there; returns the step and log to continue from. */
export function resumeTraining<L>(dir: string, model: Resumable, opt: ResumableOptimizer): { step: number; log: L[] } | null {
  const saved = loadCheckpoint(dir) as { step: number; log: L[]; model: Record<string, Tensor>; optim: never } | null;
  if (!saved) return null;
  model.loadStateDict(saved.model);
  opt.loadStateDict(saved.optim);
  return { step: saved.step, log: saved.log };
}

/** Saves what resumeTraining restores. */
export function saveTraining<L>(dir: string, step: number, log: readonly L[], model: Resumable, opt: ResumableOptimizer): void {
  saveCheckpoint(dir, { step, log: log as unknown as TrainingState, model: model.stateDict(), optim: opt.stateDict() as TrainingState });
}
