// Reward and cost model training interrupted after a checkpoint and resumed end exactly where an uninterrupted run ends.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScoreConfigSchema } from '../../src/algorithms/score/config.js';
import { trainScoreModel, type ScoreKind } from '../../src/algorithms/score/train.js';
import { silentProgress, type Progress } from '../../src/core/progress.js';
import { loadPretrained, ScoreModel, type CausalLM, type Tokenizer } from '../../src/models/index.js';
import { manualSeed, setNumThreads } from '../../src/torch/index.js';
import { paramHash } from './rl-tiny.js';
import { wordPreferences } from '../helpers/word-records.js';

const base = loadPretrained('reference/golden/tiny-gpt2');
const tokenizer = base.tokenizer as Tokenizer;
const data = wordPreferences(40);
// 40 pairs in batches of 8 (5 steps an epoch), 2 epochs,
// cosine schedule with warm-up, a checkpoint every 3 steps; the crash comes after step 7 (mid second epoch).
const config = ScoreConfigSchema.parse({ epochs: 2, batchSize: 8, checkpointEvery: 3, optim: { lr: 1e-2, warmupRatio: 0.2, schedule: 'cosine' } });
const fresh = (kind: ScoreKind) => {
  setNumThreads(1);
  manualSeed(3);
  return ScoreModel.fromCausalLM(loadPretrained('reference/golden/tiny-gpt2').model as CausalLM, kind);
};
const checkpoint = (dir: string) => ({
  json: JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8')) as unknown,
  tensors: readFileSync(join(dir, 'checkpoint', 'state.safetensors')),
});

describe.each(['reward', 'cost'] as ScoreKind[])('%s model training resume', (kind) => {
  it('continues from the last checkpoint after a crash and matches an uninterrupted run bit for bit', () => {
    const straight = fresh(kind);
    const straightDir = mkdtempSync(join(tmpdir(), `score-a-${kind}-`));
    const a = trainScoreModel({ kind, model: straight, tokenizer, train: data, config, outDir: straightDir });
    expect(a.steps).toBe(10);

    const dir = mkdtempSync(join(tmpdir(), `score-b-${kind}-`));
    const crashing: Progress = { ...silentProgress, update: (done) => { if (done === 7) throw new Error('killed'); } };
    expect(() => trainScoreModel({ kind, model: fresh(kind), tokenizer, train: data, config, outDir: dir, progress: crashing })).toThrow('killed');
    const messages: string[] = [];
    const resumedModel = fresh(kind);
    const b = trainScoreModel({ kind, model: resumedModel, tokenizer, train: data, config, outDir: dir, progress: { ...silentProgress, log: (m) => messages.push(m) } });
    expect(messages.join('\n')).toMatch(/resuming from step 6\b/);
    expect(b.log).toEqual(a.log);
    expect(paramHash(resumedModel)).toBe(paramHash(straight));
    // Final checkpoints (weights, AdamW moments and step count, log) byte for byte.
    const want = checkpoint(straightDir);
    const got = checkpoint(dir);
    expect(got.json).toEqual(want.json);
    expect(got.tensors.equals(want.tensors)).toBe(true);
  });
});
