// A-LoL on a tiny GPT-2 with a random reward model: A = R − V with V fitted on π_ref's samples, training raises the positive-advantage responses, a crash resumes bit for bit.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlolConfigSchema } from '../../src/algorithms/alol/config.js';
import { trainAlol, type AlolItem } from '../../src/algorithms/alol/train.js';
import { encodePair } from '../../src/algorithms/common/batching.js';
import { silentProgress, type Progress } from '../../src/core/progress.js';
import { ScoreModel, sequenceLogProbs, type CausalLM } from '../../src/models/index.js';
import { manualSeed, noGrad, setNumThreads, tensor } from '../../src/torch/index.js';
import { paramHash, tinyActor, tinyPrompts, tinyTokenizer } from './rl-tiny.js';

setNumThreads(1);
const tokenizer = tinyTokenizer();
manualSeed(3);
const reward = { model: ScoreModel.fromCausalLM(tinyActor(tokenizer, 3), 'reward'), tokenizer, maxLength: 64 };
manualSeed(5);
const cost = { model: ScoreModel.fromCausalLM(tinyActor(tokenizer, 5), 'cost'), tokenizer, maxLength: 64 };
/** The end score of one item by one score model, read here without the trainer. */
const endScore = (s: typeof reward, it: AlolItem) =>
  noGrad(() => {
    const p = encodePair(tokenizer, it, it.response);
    const ids = [...p.promptIds, ...p.responseIds];
    return s.model.forward(tensor([ids], { dtype: 'int64' }), tensor([ids.map(() => 1)], { dtype: 'int64' })).endScores.item();
  });
const words = ['red', 'blue', 'green', 'cat', 'dog', 'runs', 'sits', 'big', 'small', 'help', 'harm'];
const items: AlolItem[] = Array.from({ length: 24 }, (_, i) => ({
  prompt: tinyPrompts[i % tinyPrompts.length]?.prompt as string,
  response: `${words[(i * 5) % 11]} ${words[(i * 3 + 1) % 11]}${i % 2 ? ' the cat' : ''}`,
  source: `#${i}`,
}));
const dir = (name: string) => mkdtempSync(join(tmpdir(), `alol-${name}-`));
const config = (over: Record<string, unknown> = {}) =>
  AlolConfigSchema.parse({ batchSize: 8, epochs: 3, value: { prompts: 6, samplesPerPrompt: 4, maxNewTokens: 6, steps: 100 }, optim: { lr: 1e-2 }, checkpointEvery: 2, ...over });
const run = (outDir: string, over: Record<string, unknown> = {}, progress: Progress = silentProgress, policy = tinyActor(tokenizer, 1)) => ({
  policy,
  out: trainAlol({ policy, reference: tinyActor(tokenizer, 1), tokenizer, items, prompts: tinyPrompts, judges: { reward, costWeight: 0 }, config: config(over), outDir, progress }),
});
function logProb(model: CausalLM, it: AlolItem): number {
  const p = encodePair(tokenizer, it, it.response);
  const ids = [...p.promptIds, ...p.responseIds];
  return noGrad(() => sequenceLogProbs(model, tensor([ids], { dtype: 'int64' }), tensor([ids.map(() => 1)], { dtype: 'int64' })).toNumbers().slice(p.promptIds.length - 1).reduce((a, b) => a + b, 0));
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('A-LoL trainer', () => {
  for (const variant of ['alol', 'seq', 'ref-free', 'kl'] as const) {
    it(`${variant}: trains only on A = R − V > 0 and raises those responses more than the others`, () => {
      const outDir = dir(variant);
      // (kl: with this random reward model the advantages are ~0.1, so a small β lets them lead; β·log-ratio on the data pushes every trained response down)
      const { policy, out } = run(outDir, { variant, beta: 0.01 });
      const scored = (JSON.parse(readFileSync(join(outDir, 'advantages.json'), 'utf8')) as { scored: { rewards: number[]; values: number[] } }).scored;
      const advantage = scored.rewards.map((r, i) => r - (scored.values[i] as number));
      const positive = advantage.map((a) => a > 0);
      expect(out.advantages.positive).toBe(positive.filter(Boolean).length);
      expect(out.advantages.positive).toBeGreaterThan(2);
      expect(out.advantages.positive).toBeLessThan(items.length);
      // R is the reward model's end score of each response, read here without the trainer
      expect(scored.rewards[0]).toBeCloseTo(endScore(reward, items[0] as AlolItem), 5);
      // V: fitted on 6 prompts × 4 samples of π_ref
      expect(out.value.samples).toBe(24);
      expect(out.log.every((l) => l.advantage > 0)).toBe(true);
      const ref = tinyActor(tokenizer, 1);
      const gain = items.map((it) => logProb(policy, it) - logProb(ref, it));
      const up = mean(gain.filter((_, i) => positive[i]));
      const others = mean(gain.filter((_, i) => !positive[i]));
      expect(up).toBeGreaterThan(others);
      expect(up).toBeGreaterThan(0);
    });
  }

  it('with a cost weight ν the reward of a response is r − ν·c', () => {
    const outDir = dir('cost');
    trainAlol({ policy: tinyActor(tokenizer, 1), reference: tinyActor(tokenizer, 1), tokenizer, items, prompts: tinyPrompts, judges: { reward, cost, costWeight: 2 }, config: config({ epochs: 0.5 }), outDir });
    const rewards = (JSON.parse(readFileSync(join(outDir, 'advantages.json'), 'utf8')) as { scored: { rewards: number[] } }).scored.rewards;
    for (const k of [0, 5, 11]) expect(rewards[k]).toBeCloseTo(endScore(reward, items[k] as AlolItem) - 2 * endScore(cost, items[k] as AlolItem), 5);
  });

  it('resumes after a crash bit for bit, from the cached advantages', () => {
    const straightDir = dir('a');
    const a = run(straightDir);
    expect(a.out.steps).toBeGreaterThan(4);
    const crashDir = dir('b');
    const crashing: Progress = { ...silentProgress, update: (done) => { if (done === 5) throw new Error('killed'); } };
    expect(() => run(crashDir, {}, crashing)).toThrow('killed');
    const messages: string[] = [];
    const b = run(crashDir, {}, { ...silentProgress, log: (m) => messages.push(m) });
    expect(messages.join('\n')).toMatch(/resuming from step 4\b/);
    expect(b.out.log).toEqual(a.out.log);
    expect(paramHash(b.policy)).toBe(paramHash(a.policy));
  });
});
