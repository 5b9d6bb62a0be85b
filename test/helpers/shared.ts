// Where the shared real-data samples live: `shared/data` beside the repository (as in CI), else /work/shared/data.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [join(repo, '..', 'shared', 'data'), '/work/shared/data'];

/** Absolute path of a file in shared/data (the first location that has it). */
export function sharedData(file: string): string {
  const dir = candidates.find((d) => existsSync(join(d, file)));
  if (!dir) throw new Error(`shared data file ${file} not found in ${candidates.join(' or ')}; the tests expect the shared/ folder beside the repository`);
  return join(dir, file);
}
