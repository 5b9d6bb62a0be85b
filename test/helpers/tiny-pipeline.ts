// A pipeline config small enough for end-to-end tests (seconds per stage on one thread), as YAML.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TINY: Record<string, string> = {
  world: '{ pairs: { train: 300, test: 60 } }',
  model: '{ nLayer: 1, nEmbd: 32, nHead: 2 }',
  sft: '{ epochs: 0.3 }',
  annotations: '{ pairs: 24 }',
  reward: '{ epochs: 0.5 }',
  cost: '{ epochs: 0.5 }',
  rl: '{ steps: 6, promptsPerStep: 8, miniBatchSize: 8, maxNewTokens: 12, checkpointEvery: 1 }',
  shaping: '{ nus: [1] }',
  ensemble: '{ members: 2, epochs: 0.2 }',
  rounds: '{ count: 1, pairs: 16, rlSteps: 2, criticWarmupSteps: 1, candidates: 2 }',
  eval: '{ maxNewTokens: 12 }',
  micro: '{ heads: 2, epochs: 0.3 }',
  weakToStrong: '{ weak: { nEmbd: 16, sftEpochs: 0.2 }, training: { score: { epochs: 0.5 } } }',
};

/** Writes `<runsDir>/<name>.yaml` with every stage shrunk; `overrides` replace top-level fields (YAML flow values). */
export function writeTinyPipelineConfig(runsDir: string, name: string, overrides: Record<string, string> = {}): string {
  const file = join(runsDir, `${name}.yaml`);
  const fields = { name, runsDir, ...TINY, ...overrides };
  writeFileSync(file, Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n'));
  return file;
}
