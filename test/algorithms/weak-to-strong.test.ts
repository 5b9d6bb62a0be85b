// Weak-to-strong on a tiny model: weak labels read as σ(r_0 − r_1) of the supervisor, a student trained on them follows them (with and without the confidence term), PGR.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WeakLabelTrainingSchema } from '../../src/algorithms/weak-to-strong/config.js';
import { performanceGapRecovered, trainOnWeakLabels, weakLabels } from '../../src/algorithms/weak-to-strong/train.js';
import type { PreferenceRecord } from '../../src/data/record.js';
import { ScoreModel, type SequenceScorer } from '../../src/models/index.js';
import { setNumThreads } from '../../src/torch/index.js';
import { tinyActor, tinyTokenizer } from './rl-tiny.js';

const tokenizer = tinyTokenizer();
const prompts = ['tell me the cat', 'how big the dog', 'please help me', 'a red cat runs', 'blue dog sits'];

/** Pairs of a 'cat' and a 'dog' answer, order alternating; `betterResponseId` says the cat one (the weak labels below ignore it). */
function pairs(n: number): PreferenceRecord[] {
  return Array.from({ length: n }, (_, j) => {
    const cat = `the ${['red', 'big', 'small'][j % 3]} cat`;
    const dog = `a ${['blue', 'green', 'big'][(j * 2) % 3]} dog`;
    return { prompt: prompts[j % prompts.length] as string, responses: j % 2 === 0 ? [cat, dog] : [dog, cat], betterResponseId: (j % 2) as 0 | 1 };
  });
}

describe('weakLabels', () => {
  it('is σ(r_0 − r_1) of the supervisor per pair, in response order whatever the label says', () => {
    // a supervisor scoring a sequence by its count of the word 'cat': P(response 0 better) = σ(±1)
    const cat = tokenizer.encode('cat', { addSpecialTokens: false })[0] as number;
    const scorer: SequenceScorer = { eval: () => undefined, forward: (ids) => ({ endScores: ids.eq(cat).float().sum(1) }) };
    const data = pairs(4);
    const p = weakLabels(scorer, tokenizer, data, { maxLength: 32 });
    const countIn = (s: string) => s.split(' ').filter((w) => w === 'cat').length;
    data.forEach((r, j) => {
      const prompt = countIn(r.prompt);
      const margin = prompt + countIn(r.responses[0]) - (prompt + countIn(r.responses[1]));
      expect(p[j]).toBeCloseTo(1 / (1 + Math.exp(-margin)), 6);
    });
  });
});

describe('trainOnWeakLabels', () => {
  setNumThreads(1);
  // weak labels: the dog answer is better with probability 0.85 (the opposite of `betterResponseId`)
  const data = pairs(40);
  const labels = data.map((_, j) => (j % 2 === 0 ? 0.15 : 0.85));
  for (const auxCoef of [0, 0.75]) {
    it(`α ${auxCoef}: the student comes to prefer what the weak labels prefer`, () => {
      const model = ScoreModel.fromCausalLM(tinyActor(tokenizer, 5), 'reward');
      const config = WeakLabelTrainingSchema.parse({ auxCoef, score: { epochs: 6, batchSize: 8, optim: { lr: 3e-3, warmupRatio: 0 }, checkpointEvery: 1000 } });
      const out = trainOnWeakLabels({ model, tokenizer, pairs: data, labels, config, outDir: mkdtempSync(join(tmpdir(), 'w2s-')) });
      expect(out.steps).toBe(30);
      expect(out.log.at(-1)?.alpha).toBeCloseTo(auxCoef, 6);
      const after = weakLabels(model, tokenizer, pairs(10));
      after.forEach((p, j) => expect(p > 0.5, `pair ${j}: P(response 0) ${p}`).toBe(j % 2 === 1));
    });
  }
});

describe('performanceGapRecovered', () => {
  it('is the share of the weak-to-ceiling gap the student closes; undefined when the ceiling is no better', () => {
    expect(performanceGapRecovered(0.6, 0.7, 0.8)).toBeCloseTo(0.5, 12);
    expect(performanceGapRecovered(0.6, 0.55, 0.8)).toBeCloseTo(-0.25, 12);
    expect(performanceGapRecovered(0.8, 0.7, 0.8)).toBeNaN();
  });
});
