// MiCRo end to end on annotators whose tastes conflict: two groups of three prefer opposite responses of the same pairs; one head cannot fit both, the routed mixture can.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareByGroup, routedWeights, trainMicroAndBaseline } from '../../src/algorithms/micro/compare.js';
import { MicroConfigSchema } from '../../src/algorithms/micro/config.js';
import { loadMixture } from '../../src/algorithms/micro/model.js';
import { annotatorBatches, preferenceProbabilities, type AnnotatedPair } from '../../src/algorithms/micro/train.js';
import { silentProgress } from '../../src/core/progress.js';
import { setNumThreads } from '../../src/torch/index.js';
import { tinyActor, tinyTokenizer } from './rl-tiny.js';

const tokenizer = tinyTokenizer();
const prompts = ['tell me the cat', 'how big the dog', 'please help me', 'a red cat runs', 'blue dog sits'];
const groupOf = (a: string) => (a.startsWith('c') ? 'cats' : 'dogs');

/** `n` pairs of a 'cat' and a 'dog' answer (order alternating), each labelled by every annotator: cat people pick the cat answer. */
function labelled(n: number, offset: number): AnnotatedPair[] {
  return Array.from({ length: n }, (_, i) => {
    const j = i + offset;
    const cat = `the ${['red', 'big', 'small'][j % 3]} cat`;
    const dog = `a ${['blue', 'green', 'big'][(j * 2) % 3]} dog`;
    const responses: [string, string] = j % 2 === 0 ? [cat, dog] : [dog, cat];
    const catId = (j % 2 === 0 ? 0 : 1) as 0 | 1;
    return ['c1', 'c2', 'c3', 'd1', 'd2', 'd3'].map((annotator) => ({ prompt: prompts[j % prompts.length] as string, responses, betterResponseId: (groupOf(annotator) === 'cats' ? catId : 1 - catId) as 0 | 1, annotator }));
  }).flat();
}

describe('MiCRo on conflicting annotator groups', () => {
  const config = MicroConfigSchema.parse({ heads: 2, epochs: 10, batchSize: 30, optim: { lr: 1e-2, warmupRatio: 0 }, routing: { pairs: 6, eta: 1 }, checkpointEvery: 1000 });
  let result: ReturnType<typeof compareByGroup>;
  let trained: ReturnType<typeof trainMicroAndBaseline>;
  const outDir = mkdtempSync(join(tmpdir(), 'micro-'));

  beforeAll(() => {
    setNumThreads(1);
    trained = trainMicroAndBaseline({ backbone: () => tinyActor(tokenizer, 3), tokenizer, train: labelled(30, 0), config, outDir, progress: silentProgress });
    result = compareByGroup(trained, tokenizer, labelled(10, 100), groupOf);
  }, 120_000);

  it('the routed mixture predicts each group, one Bradley–Terry head cannot do better than a coin on the conflicting labels', () => {
    for (const g of ['cats', 'dogs']) {
      expect(result.byGroup[g]?.micro, g).toBeGreaterThan(0.9);
      expect(result.byGroup[g]?.n).toBe(30);
    }
    expect(result.byGroup.all?.single).toBeLessThan(0.65);
    expect(result.byGroup.all?.microUnrouted).toBeLessThan(0.65);
  });

  it('Hedge puts the groups on different heads', () => {
    const w = routedWeights(trained.micro.routing, 1, groupOf);
    const [cats, dogs] = [w.cats as number[], w.dogs as number[]];
    const top = (x: number[]) => x.indexOf(Math.max(...x));
    expect(top(cats)).not.toBe(top(dogs));
    expect(Math.max(...cats)).toBeGreaterThan(0.9);
  });

  it('a saved mixture loads back and predicts the same', () => {
    const loaded = loadMixture(join(outDir, 'micro', 'model'));
    const test = labelled(3, 200);
    const a = preferenceProbabilities(trained.micro.model, tokenizer, test, trained.micro.routing, config);
    const b = preferenceProbabilities(loaded, tokenizer, test, trained.micro.routing, config);
    b.forEach((p, i) => expect(p).toBeCloseTo(a[i] as number, 5));
  });
});

describe('annotatorBatches', () => {
  it('holds one annotator per batch, covers every item once per epoch, and is the same on every call', () => {
    const who = ['a', 'b', 'a', 'c', 'b', 'a', 'a', 'c'];
    const x = annotatorBatches(who, 2, 2, 7);
    const y = annotatorBatches(who, 2, 2, 7);
    const perEpoch = x.totalSteps / 2;
    const seen: number[] = [];
    for (let s = 0; s < perEpoch; s++) {
      const b = x.batchAt(s);
      expect(new Set(b.map((i) => who[i])).size).toBe(1);
      expect(y.batchAt(s)).toEqual(b);
      seen.push(...b);
    }
    expect(seen.sort()).toEqual(who.map((_, i) => i));
  });
});
