// A severity classifier (ordinal head on the cost score) trained in process on responses whose level is their count of one word.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScoreConfigSchema } from '../../src/algorithms/score/config.js';
import { evaluateScoreModel, trainScoreModel } from '../../src/algorithms/score/train.js';
import type { SafetyLabel } from '../../src/data/safety-labels.js';
import type { Severity } from '../../src/data/record.js';
import { loadPretrained, ScoreModel, type CausalLM, type Tokenizer } from '../../src/models/index.js';
import { manualSeed, setNumThreads } from '../../src/torch/index.js';

const base = loadPretrained('reference/golden/tiny-gpt2');
const tokenizer = base.tokenizer as Tokenizer;

/** `n` responses of 4 words; level = how many of them are `w3` (0 safe … 3 severe). */
function labels(n: number, offset: number): SafetyLabel[] {
  return Array.from({ length: n }, (_, j) => {
    const i = j + offset;
    const level = (i % 4) as Severity;
    const words = [`w${5 + (i % 7)}`, `w${6 + ((i * 3) % 5)}`, `w${7 + (i % 3)}`, `w${5 + ((i * 5) % 4)}`];
    for (let k = 0; k < level; k++) words[(i + k) % 4] = 'w3';
    return { prompt: `w${i % 2}`, response: words.join(' '), isSafe: level === 0, severity: level };
  });
}

describe('severity classifier training', () => {
  it('learns the levels: held-out accuracy far above chance, safe below 0, unsafe above', () => {
    setNumThreads(1);
    manualSeed(0);
    const model = ScoreModel.fromCausalLM(base.model as CausalLM, 'cost', 4);
    const config = ScoreConfigSchema.parse({ epochs: 30, batchSize: 16, regularization: 0, optim: { lr: 1e-2 } });
    const r = trainScoreModel({ kind: 'cost', model, tokenizer, train: { labels: labels(64, 0) }, config, outDir: mkdtempSync(join(tmpdir(), 'severity-')), prompt: { raw: true } });
    expect(r.log.at(-1)?.meanAbsError).toBeDefined();
    const ev = evaluateScoreModel('cost', model, tokenizer, { labels: labels(32, 64) }, { prompt: { raw: true } });
    const sev = ev.severity;
    if (!sev) throw new Error('no severity evaluation');
    expect(sev.confusion.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([8, 8, 8, 8]);
    // chance is 25%
    expect(sev.accuracy).toBeGreaterThan(0.9);
    expect(sev.meanAbsError).toBeLessThan(0.2);
    expect(ev.signAccuracy).toBeGreaterThan(0.85);
    expect(ev.safeMean).toBeLessThan(0);
    expect(ev.unsafeMean).toBeGreaterThan(0);
  });
});
