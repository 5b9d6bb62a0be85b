// MoCAN on a tiny GPT-2 with random score models: λ* meets the budget on the reference policy's own samples, pairs are relabelled by r − λ·c, the dual is cached for a resumed run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MocanConfigSchema } from '../../src/algorithms/mocan/config.js';
import { estimateMocanLambda, trainMocan } from '../../src/algorithms/mocan/train.js';
import { utilityPairs } from '../../src/algorithms/dpo/pairs.js';
import { encodePair } from '../../src/algorithms/common/batching.js';
import { silentProgress } from '../../src/core/progress.js';
import type { PreferenceRecord } from '../../src/data/record.js';
import { ScoreModel } from '../../src/models/index.js';
import { manualSeed, noGrad, setNumThreads, tensor } from '../../src/torch/index.js';
import { tinyActor, tinyPrompts, tinyTokenizer } from './rl-tiny.js';

setNumThreads(1);
const tokenizer = tinyTokenizer();
const scorer = (seed: number, kind: 'reward' | 'cost') => {
  manualSeed(seed);
  const model = ScoreModel.fromCausalLM(tinyActor(tokenizer, seed), kind);
  return { model, tokenizer, maxLength: 64 };
};
const reward = scorer(3, 'reward');
const cost = scorer(5, 'cost');
const words = ['red', 'blue', 'green', 'cat', 'dog', 'runs', 'sits', 'big', 'small', 'help', 'harm'];
const data: PreferenceRecord[] = Array.from({ length: 16 }, (_, i) => ({
  prompt: tinyPrompts[i % tinyPrompts.length]?.prompt as string,
  responses: [`${words[i % 11]} ${words[(i * 3) % 11]}`, `${words[(i + 4) % 11]} the ${words[(i * 7) % 11]} cat`],
  betterResponseId: (i % 3 === 0 ? 1 : 0) as 0 | 1,
  saferResponseId: (i % 2) as 0 | 1,
  isSafe: [true, true],
}));
/** The end score of one (prompt, response) by one score model, read here without scoreTexts. */
function endScore(s: typeof reward, prompt: string, response: string): number {
  const p = encodePair(tokenizer, { prompt }, response);
  const ids = [...p.promptIds, ...p.responseIds];
  return noGrad(() => s.model.forward(tensor([ids], { dtype: 'int64' }), tensor([ids.map(() => 1)], { dtype: 'int64' })).endScores.item());
}
const dir = (name: string) => mkdtempSync(join(tmpdir(), `mocan-${name}-`));
const config = (over: Record<string, unknown> = {}) => MocanConfigSchema.parse({ samplesPerPrompt: 6, maxNewTokens: 6, preference: { beta: 0.5, batchSize: 16, optim: { lr: 1e-3 } }, ...over });

describe('MoCAN', () => {
  it("λ* makes the tilted policy's expected cost on π_ref's own samples equal to the budget d", () => {
    const args = { reference: tinyActor(tokenizer, 1), tokenizer, prompts: tinyPrompts, reward, cost, config: config() };
    const free = estimateMocanLambda({ ...args, threshold: 1e6 });
    expect(free.lambda).toBe(0);
    expect(free.samples).toBe(6 * tinyPrompts.length);
    expect(free.prompts).toBe(tinyPrompts.length);
    // a budget a little below the unconstrained optimum's cost binds: λ* > 0 and E_π_λ*[c] = d
    const d = free.costAtZero - 0.05;
    const bound = estimateMocanLambda({ ...args, threshold: d });
    expect(bound.lambda).toBeGreaterThan(0);
    expect(bound.infeasible).toBe(false);
    expect(bound.tiltedCost).toBeCloseTo(d, 6);
    // a tighter budget needs a larger λ
    const tighter = estimateMocanLambda({ ...args, threshold: d - 0.05 });
    expect(tighter.lambda).toBeGreaterThan(bound.lambda);
  });

  it('relabels every pair by r − λ·c (λ fixed), and the first DPO step sees policy = reference', () => {
    const lambda = 2;
    const out = trainMocan({ policy: tinyActor(tokenizer, 1), reference: tinyActor(tokenizer, 1), tokenizer, train: data, prompts: tinyPrompts, reward, cost, threshold: 0, config: config({ lambda }), outDir: dir('relabel') });
    expect(out.dual.fixed).toBe(true);
    expect(out.dual.samples).toBe(0);
    const utility = (r: PreferenceRecord, k: 0 | 1) => endScore(reward, r.prompt, r.responses[k]) - lambda * endScore(cost, r.prompt, r.responses[k]);
    const flipped = data.filter((r) => (utility(r, 0) > utility(r, 1) ? 0 : 1) !== r.betterResponseId).length;
    expect(flipped).toBeGreaterThan(0);
    expect(flipped).toBeLessThan(data.length);
    expect(out.relabel).toEqual({ pairs: data.length, flipped, unscored: 0 });
    expect(out.preference.log[0]?.loss).toBeCloseTo(Math.log(2), 5);
  });

  it("soft labels: each relabelled pair carries P(rejected is better) = σ(u_rejected − u_chosen); hard labels none", () => {
    const records = data.slice(0, 3);
    const u: [number, number][] = [[1, 3], [0.5, -1], [2, 2]];
    const soft = utilityPairs(records, u, true);
    expect(soft.pairs.map((p) => p.chosen)).toEqual([records[0]?.responses[1], records[1]?.responses[0], records[2]?.responses[records[2]?.betterResponseId as 0 | 1]]);
    expect(soft.pairs[0]?.labelSmoothing).toBeCloseTo(1 / (1 + Math.exp(2)), 12);
    expect(soft.pairs[1]?.labelSmoothing).toBeCloseTo(1 / (1 + Math.exp(1.5)), 12);
    expect(soft.pairs[2]?.labelSmoothing).toBeCloseTo(0.5, 12);
    expect(utilityPairs(records, u).pairs.every((p) => p.labelSmoothing === undefined)).toBe(true);
    expect(() =>
      trainMocan({ policy: tinyActor(tokenizer, 1), reference: tinyActor(tokenizer, 1), tokenizer, train: data, prompts: tinyPrompts, reward, cost, threshold: 0, config: config({ lambda: 1, preference: { variant: 'ipo' } }), outDir: dir('ipo') }),
    ).toThrow(/soft labels need preference.variant 'sigmoid'/);
  });

  it('a resumed run reads λ* from dual.json instead of sampling again', () => {
    const outDir = dir('resume');
    const run = (samples: string[]) =>
      trainMocan({
        policy: tinyActor(tokenizer, 1),
        reference: tinyActor(tokenizer, 1),
        tokenizer,
        train: data,
        prompts: tinyPrompts,
        reward,
        cost,
        threshold: -0.5,
        config: config(),
        outDir,
        progress: { ...silentProgress, start: (label) => samples.push(label) },
      });
    const first: string[] = [];
    const a = run(first);
    const second: string[] = [];
    const b = run(second);
    expect(first.some((l) => l.startsWith('sample'))).toBe(true);
    expect(second.some((l) => l.startsWith('sample'))).toBe(false);
    expect(b.dual).toEqual(a.dual);
    expect(b.preference.steps).toBe(a.preference.steps);
  });
});
