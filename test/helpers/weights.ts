// Test helper: the weights of HF model folders, and how far two folders' weights are apart.
import { join } from 'node:path';
import { readSafetensors } from '../../src/models/safetensors.js';
import { rawToTensor } from '../../src/models/state-dict.js';

/** The weights of an HF folder, by name, as flat number arrays. */
export function weights(folder: string): Map<string, number[]> {
  const file = join(folder, 'model.safetensors');
  const { tensors } = readSafetensors(file);
  return new Map([...tensors].map(([name, raw]) => [name, rawToTensor(raw, { name, file }).toNumbers()]));
}

/**
 * Largest |a − b| over every weight of two folders (`names`: whether they hold the same names), and the largest
 * change of `a` from `start` (a weight `start` lacks, e.g. a new head, is left out of that).
 */
export function compareWeights(a: string, b: string, start: string): { diff: number; moved: number; names: boolean } {
  const [wa, wb, w0] = [weights(a), weights(b), weights(start)];
  const names = JSON.stringify([...wa.keys()].sort()) === JSON.stringify([...wb.keys()].sort());
  let diff = 0;
  let moved = 0;
  for (const [name, xs] of wa) {
    const ys = wb.get(name) ?? [];
    const zs = w0.get(name);
    xs.forEach((x, i) => {
      const y = ys[i];
      diff = Math.max(diff, y === undefined ? Infinity : Math.abs(x - y));
      if (zs) moved = Math.max(moved, Math.abs(x - (zs[i] as number)));
    });
  }
  return { diff, moved, names };
}
