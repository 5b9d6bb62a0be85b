// SFT interrupted after a checkpoint and resumed ends exactly where an uninterrupted run ends.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SftConfigSchema } from '../../src/algorithms/sft/config.js';
import { trainSft } from '../../src/algorithms/sft/train.js';
import { silentProgress, type Progress } from '../../src/core/progress.js';
import { CausalLM, loadPretrained, type Tokenizer } from '../../src/models/index.js';
import { wordExamples } from '../helpers/word-records.js';

const base = loadPretrained('reference/golden/tiny-gpt2');
const tokenizer = base.tokenizer as Tokenizer;
const data = wordExamples(40);
const config = SftConfigSchema.parse({ epochs: 2, batchSize: 8, checkpointEvery: 3, evalEvery: 100, optim: { lr: 1e-2 } });
const fresh = () => (loadPretrained('reference/golden/tiny-gpt2').model as CausalLM);

describe('SFT resume', () => {
  it('continues from the last checkpoint after a crash and matches an uninterrupted run', () => {
    const straight = fresh();
    const a = trainSft({ model: straight, tokenizer, train: data, test: data.slice(0, 8), config, outDir: mkdtempSync(join(tmpdir(), 'sft-a-')) });
    expect(a.steps).toBe(10);

    const dir = mkdtempSync(join(tmpdir(), 'sft-b-'));
    const crashing: Progress = { ...silentProgress, update: (done) => { if (done === 7) throw new Error('killed'); } };
    expect(() => trainSft({ model: fresh(), tokenizer, train: data, test: data.slice(0, 8), config, outDir: dir, progress: crashing })).toThrow('killed');
    const messages: string[] = [];
    const resumedModel = fresh();
    const b = trainSft({ model: resumedModel, tokenizer, train: data, test: data.slice(0, 8), config, outDir: dir, progress: { ...silentProgress, log: (m) => messages.push(m) } });
    expect(messages.join('\n')).toMatch(/resuming from step 6/);
    expect(b.log.map((r) => r.loss)).toEqual(a.log.map((r) => r.loss));
    const p1 = straight.namedParameters();
    for (const [n, p] of resumedModel.namedParameters()) expect(Buffer.from(p.toBuffer()).equals(Buffer.from((p1.get(n) as NonNullable<ReturnType<typeof p1.get>>).toBuffer())), n).toBe(true);
  });
});
