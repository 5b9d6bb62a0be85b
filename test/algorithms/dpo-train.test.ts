// DPO / SafeDPO / IPO trainers on a tiny GPT-2: the first step sees policy = reference (loss fixed by the variant and the offsets), training widens the margin, a crash resumes bit for bit from cached reference log-probs.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DpoConfigSchema, SafeDpoConfigSchema } from '../../src/algorithms/dpo/config.js';
import { safeDpoPairs } from '../../src/algorithms/dpo/pairs.js';
import { trainDpo, trainSafeDpo } from '../../src/algorithms/dpo/train.js';
import { silentProgress, type Progress } from '../../src/core/progress.js';
import { encodePair } from '../../src/algorithms/common/batching.js';
import { loadPretrained, sequenceLogProbs, type CausalLM, type Tokenizer } from '../../src/models/index.js';
import { manualSeed, noGrad, setNumThreads, tensor } from '../../src/torch/index.js';
import { paramHash } from './rl-tiny.js';
import { wordPreferences } from '../helpers/word-records.js';

const tokenizer = loadPretrained('reference/golden/tiny-gpt2').tokenizer as Tokenizer;
const data = wordPreferences(24);
const load = () => {
  setNumThreads(1);
  manualSeed(3);
  return loadPretrained('reference/golden/tiny-gpt2').model as CausalLM;
};
const outDir = (name: string) => mkdtempSync(join(tmpdir(), `dpo-${name}-`));
/** log π(response | prompt) summed over the response, computed here without the trainer's code. */
function responseLogProb(model: CausalLM, prompt: string, response: string): number {
  const p = encodePair(tokenizer, { prompt }, response);
  const ids = [...p.promptIds, ...p.responseIds];
  return noGrad(() => {
    const lp = sequenceLogProbs(model, tensor([ids], { dtype: 'int64' }), tensor([ids.map(() => 1)], { dtype: 'int64' })).toNumbers();
    return lp.slice(p.promptIds.length - 1).reduce((a, b) => a + b, 0);
  });
}
const softplus = (x: number) => Math.log1p(Math.exp(x));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('preference trainers', () => {
  it('first step: policy equals reference, so DPO loss = log 2, margin 0; IPO loss = (1/(2β))²', () => {
    const one = { epochs: 1, batchSize: 24, optim: { lr: 1e-3 } };
    const dpo = trainDpo({ policy: load(), reference: load(), tokenizer, train: data, config: DpoConfigSchema.parse(one), outDir: outDir('first') });
    const first = dpo.log[0] as NonNullable<(typeof dpo.log)[0]>;
    expect(first.loss).toBeCloseTo(Math.log(2), 5);
    expect(Math.abs(first.margin)).toBeLessThan(1e-5);
    expect(Math.abs(first.chosenReward)).toBeLessThan(1e-5);
    const ipo = trainDpo({ policy: load(), reference: load(), tokenizer, train: data, config: DpoConfigSchema.parse({ ...one, variant: 'ipo', beta: 0.5 }), outDir: outDir('ipo') });
    expect(ipo.log[0]?.loss).toBeCloseTo(1, 4);
  });

  it("SafeDPO's first-step loss is the mean softplus of its offsets (u_l − u_w)·Δ over the reordered pairs", () => {
    const config = SafeDpoConfigSchema.parse({ epochs: 1, batchSize: 24, delta: 2, optim: { lr: 1e-3 } });
    const out = trainSafeDpo({ policy: load(), reference: load(), tokenizer, train: data, config, outDir: outDir('safe') });
    const pairs = safeDpoPairs(data, 'keep');
    const offsets = pairs.map((p) => (Number(p.rejectedUnsafe) - Number(p.chosenUnsafe)) * 2);
    expect(offsets.filter((o) => o > 0).length).toBeGreaterThan(3);
    expect(offsets.every((o) => o >= 0)).toBe(true);
    // z = β·0 − offset, loss = −log σ(−offset) = softplus(offset)
    expect(out.log[0]?.loss).toBeCloseTo(mean(offsets.map(softplus)), 5);
    const dropped = trainSafeDpo({ policy: load(), reference: load(), tokenizer, train: data, config: { ...config, bothUnsafe: 'drop' }, outDir: outDir('drop') });
    expect(dropped.truncation.total).toBe(pairs.length - pairs.filter((p) => p.chosenUnsafe && p.rejectedUnsafe).length);
  });

  it('widens the implicit-reward margin on its training pairs and reports it on test pairs', () => {
    const config = DpoConfigSchema.parse({ epochs: 8, batchSize: 8, beta: 0.5, optim: { lr: 1e-2, schedule: 'constant', warmupRatio: 0 } });
    const policy = load();
    const reference = load();
    const out = trainDpo({ policy, reference, tokenizer, train: data, test: data, config, outDir: outDir('learn') });
    const last = out.log.slice(-3);
    expect(mean(last.map((r) => r.margin))).toBeGreaterThan(1);
    expect(mean(last.map((r) => r.loss))).toBeLessThan(0.4);
    expect(out.test?.accuracy).toBeGreaterThan(0.9);
    expect(out.test?.margin).toBeGreaterThan(1);
    expect(out.test?.n).toBe(24);
    // Independently of the trainer: the more helpful response gained log-probability over the other one.
    const gain = data.map((r) => {
      const [better, worse] = [r.responses[r.betterResponseId], r.responses[1 - r.betterResponseId] as string];
      const h = (m: CausalLM) => responseLogProb(m, r.prompt, better) - responseLogProb(m, r.prompt, worse);
      return h(policy) - h(reference);
    });
    expect(gain.filter((x) => x > 0).length).toBeGreaterThan(20);
  });

  it('resumes after a crash bit for bit, reading the cached reference log-probs instead of recomputing them', () => {
    const config = DpoConfigSchema.parse({ epochs: 2, batchSize: 8, checkpointEvery: 2, optim: { lr: 1e-2 } });
    const straightPolicy = load();
    const straightDir = outDir('a');
    const a = trainDpo({ policy: straightPolicy, reference: load(), tokenizer, train: data, config, outDir: straightDir });
    expect(a.steps).toBe(6);
    const dir = outDir('b');
    const crashing: Progress = { ...silentProgress, update: (done) => { if (done === 5) throw new Error('killed'); } };
    expect(() => trainDpo({ policy: load(), reference: load(), tokenizer, train: data, config, outDir: dir, progress: crashing })).toThrow('killed');
    // A different reference model (a Qwen2) on resume: only the cached log-probs keep the run identical.
    const messages: string[] = [];
    const policy = load();
    const b = trainDpo({ policy, reference: loadPretrained('reference/golden/tiny-llama').model as CausalLM, tokenizer, train: data, config, outDir: dir, progress: { ...silentProgress, log: (m) => messages.push(m) } });
    expect(messages.join('\n')).toMatch(/resuming from step 4\b/);
    expect(b.log).toEqual(a.log);
    expect(paramHash(policy)).toBe(paramHash(straightPolicy));
    expect(readFileSync(join(dir, 'checkpoint', 'state.safetensors')).equals(readFileSync(join(straightDir, 'checkpoint', 'state.safetensors')))).toBe(true);
  });
});
