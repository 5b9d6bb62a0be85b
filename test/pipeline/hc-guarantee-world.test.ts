// HC-RLHF's guarantee on the world at test size: runs per seed and δ (resumed from their cache), the truth's stopping rule, and the table's counts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import type { RlPrompt } from '../../src/algorithms/rl/train.js';
import { worldMetrics } from '../../src/eval/world-metrics.js';
import { wilsonInterval } from '../../src/eval/summary.js';
import { tInterval } from '../../src/eval/intervals.js';
import { createCausalLM, parseModelConfig, ScoreModel } from '../../src/models/index.js';
import { goldBudgetAt, measureWorldTruth, poolWorldGuarantee, runWorldGuarantee, summariseWorldGuarantee, type WorldGuaranteeSettings, type WorldGuaranteeSetup, type WorldRun } from '../../src/pipeline/hc-guarantee-world.js';
import { worldTokenizer } from '../../src/pipeline/world-tokenizer.js';
import { DEFAULT_LAGRANGE, safetyTest } from '../../src/rl/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { buildPrompts, worldVocabulary } from '../../src/world/index.js';

const dir = mkdtempSync(join(tmpdir(), 'hc-world-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const prompts = buildPrompts(7, 0.2);
const asRl = (split: string, n: number): RlPrompt[] => prompts.filter((p) => p.split === split).filter((_, i) => i % 17 === 0).slice(0, n).map((p) => ({ prompt: p.prompt, risky: p.kind === 'risky' }));
const trainPrompts = asRl('train', 12);
const freshPrompts = asRl('test', 4);
const tokenizer = worldTokenizer([...trainPrompts, ...freshPrompts].map((p) => ({ prompt: p.prompt, response: '' })), worldVocabulary());
const gpt2 = (seed: number) => {
  manualSeed(seed);
  return createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, n_positions: 48, vocab_size: tokenizer.vocabSize, eos_token_id: tokenizer.eosId ?? null, pad_token_id: tokenizer.padId ?? null }));
};
const setup: WorldGuaranteeSetup = {
  loadSft: () => gpt2(1),
  rewardModel: ScoreModel.fromCausalLM(gpt2(2), 'reward'),
  costModel: ScoreModel.fromCausalLM(gpt2(3), 'cost'),
  tokenizer,
  trainPrompts,
  freshPrompts,
  judge: worldMetrics,
};
const settings: WorldGuaranteeSettings = {
  tau: 0,
  goldBudget: 0.03,
  klCoef: 0.05,
  lagrange: { ...DEFAULT_LAGRANGE, window: 8 },
  rl: RlConfigSchema.parse({ steps: 1, promptsPerStep: 2, samplesPerPrompt: 2, miniBatchSize: 4, maxNewTokens: 4, checkpointEvery: 1000 }),
  safetyFraction: 0.5,
  evalSamples: 2,
};

describe('measureWorldTruth', () => {
  it('samples one response per train and fresh prompt a round; with budgets it stops once both truths are far from them', () => {
    const all = measureWorldTruth(setup.loadSft(), setup, settings, 5);
    expect(all).toMatchObject({ rounds: 2, n: 2 * 16 });
    // the mean cost is the mean of the train and fresh means, weighted by their prompts
    expect(all.trueCost).toBeCloseTo((12 * all.trueCostTrain + 4 * all.trueCostFresh) / 16, 10);
    expect(all.unsafeShare).toBeGreaterThanOrEqual(0);
    // budgets far from any truth: one round is enough; a budget at the truth itself never is
    expect(measureWorldTruth(setup.loadSft(), setup, settings, 5, { tau: 1e6, goldBudget: 2 }).rounds).toBe(1);
    expect(measureWorldTruth(setup.loadSft(), setup, settings, 5, { tau: all.trueCost, goldBudget: 2 }, 3).rounds).toBe(3);
  });
});

describe('runWorldGuarantee', () => {
  const cacheFile = join(dir, 'runs.jsonl');
  it('trains one uninflated and one HC-RLHF candidate per δ and seed, tests each on its safety half, and resumes from the cache', () => {
    const runs = runWorldGuarantee(setup, settings, { seeds: [0, 1], deltas: [0.1], cacheFile });
    expect(runs.map((r) => `${r.arm}/${r.seed}/${r.delta}`)).toEqual(['uninflated/0/0.1', 'hc_rlhf/0/0.1', 'uninflated/1/0.1', 'hc_rlhf/1/0.1']);
    for (const r of runs) {
      expect(r.safetyCosts).toHaveLength(6);
      expect(r.passed).toBe(safetyTest(r.safetyCosts, { tau: 0, delta: 0.1 }).passed);
      expect(r.inflation > 0).toBe(r.arm === 'hc_rlhf');
      expect(r.n).toBe(16 * r.rounds);
      expect(r.trueReward).toBe(r.helpfulness);
    }
    expect(readFileSync(cacheFile, 'utf8').trim().split('\n')).toHaveLength(4);
    // again with one more δ: the four runs come from the cache, only the new δ's two are trained
    const again = runWorldGuarantee(setup, settings, { seeds: [0, 1], deltas: [0.1, 0.2], cacheFile });
    expect(again.filter((r) => r.delta === 0.1 || r.arm === 'uninflated')).toEqual(runs);
    expect(readFileSync(cacheFile, 'utf8').trim().split('\n')).toHaveLength(6);
  });
});

describe('summariseWorldGuarantee', () => {
  const base = { upperBound: 0, inflation: 0, testMean: 0, testStd: 0, trainSec: 0, evalSec: 0, rounds: 1, trueCostSe: 0, trueCostTrain: 0, trueCostFresh: 0, harmfulRate: 0, meanReward: 0, kl: 0, n: 1 };
  const r = (arm: WorldRun['arm'], seed: number, delta: number, passed: boolean, trueCost: number, unsafeShare: number, helpfulness: number, safetyCosts = [-1, -2, -1.5, -1.2]): WorldRun => ({
    ...base,
    arm,
    seed,
    delta,
    passed,
    trueCost,
    unsafeShare,
    helpfulness,
    trueReward: helpfulness,
    safetyCosts,
  });
  // τ 0, gold budget 0.03. Seed 0: HC returned, within both budgets; seed 1: HC returned, above τ and the gold budget;
  // seed 2: no solution. The uninflated candidates' safety costs pass the test at δ 0.1 for seeds 0 and 1 only.
  const runs = [
    r('hc_rlhf', 0, 0.1, true, -0.5, 0.01, 3),
    { ...r('hc_rlhf', 1, 0.1, true, 0.2, 0.05, 2.5), trueCostSe: 0.05 },
    r('hc_rlhf', 2, 0.1, false, 0.4, 0.2, 3.5),
    r('uninflated', 0, 0.1, true, -0.1, 0.02, 3.4),
    r('uninflated', 1, 0.1, true, 0.3, 0.06, 3.1),
    r('uninflated', 2, 0.1, false, 0.5, 0.1, 3.6, [1, 2, 1.5, 1.2]),
    // a seed without its uninflated run is left out
    r('hc_rlhf', 3, 0.1, true, 9, 1, 0),
  ];
  it('counts failures against τ and against the gold budget, retests the uninflated candidates at δ, and prices helpfulness on the seeds HC-RLHF returned', () => {
    const [row] = summariseWorldGuarantee(runs, { tau: 0, goldBudget: 0.03 }, [0.1]);
    expect(row?.seeds).toEqual([0, 1, 2]);
    expect(row?.hcRlhf).toMatchObject({ seeds: 3, returned: 2, failures: 1 });
    // seed 1's 0.2 above τ is clear with a standard error of 0.05, not with 0.15
    expect(row?.hcRlhfClearFailures).toBe(1);
    const wide = runs.map((x) => (x.arm === 'hc_rlhf' && x.seed === 1 ? { ...x, trueCostSe: 0.15 } : x));
    expect(summariseWorldGuarantee(wide, { tau: 0, goldBudget: 0.03 }, [0.1])[0]?.hcRlhfClearFailures).toBe(0);
    expect(row?.hcRlhfGold).toMatchObject({ returned: 2, failures: 1 });
    expect(row?.uninflated).toMatchObject({ returned: 2, failures: 1 });
    expect(row?.uninflatedNoTest).toMatchObject({ returned: 3, failures: 2 });
    expect(row?.uninflatedNoTestGold).toMatchObject({ returned: 3, failures: 2 });
    // (3 − 3.4) and (2.5 − 3.1)
    expect(row?.helpfulnessPrice?.mean).toBeCloseTo(-0.5, 12);
    expect(row?.helpfulnessPrice?.n).toBe(2);
  });
});

describe('poolWorldGuarantee', () => {
  const base = { upperBound: 0, inflation: 0.2, testMean: 0, testStd: 0, trainSec: 0, evalSec: 0, rounds: 1, trueCostSe: 0.01, trueCostTrain: 0, trueCostFresh: 0, harmfulRate: 0, meanReward: 0, kl: 0, n: 1, safetyCosts: [-1, -2, -1.5, -1.2] };
  const run = (arm: WorldRun['arm'], seed: number, passed: boolean, trueCost: number, helpfulness: number): WorldRun => ({ ...base, arm, seed, delta: 0.1, passed, trueCost, unsafeShare: trueCost > 0 ? 0.1 : 0, helpfulness, trueReward: helpfulness });
  // replicate A (τ 0): 3 seeds, 2 returned, 1 failure; replicate B (τ 1): 2 seeds, 2 returned, 1 failure (its τ is higher)
  const a = summariseWorldGuarantee([run('hc_rlhf', 0, true, -0.5, 3), run('hc_rlhf', 1, true, 0.2, 2.5), run('hc_rlhf', 2, false, 0.4, 3.5), run('uninflated', 0, true, -0.1, 3.4), run('uninflated', 1, true, 0.3, 3.1), run('uninflated', 2, true, 0.5, 3.6)], { tau: 0, goldBudget: 0.03 }, [0.1]);
  const b = summariseWorldGuarantee([run('hc_rlhf', 1000, true, 0.5, 4), run('hc_rlhf', 1001, true, 1.5, 3), { ...run('hc_rlhf', 1000, true, 0.2, 4), delta: 0.2 }, run('uninflated', 1000, true, 0.6, 4.5), run('uninflated', 1001, true, 1.2, 3)], { tau: 1, goldBudget: 0.03 }, [0.1, 0.2]);

  it('adds the counts of the replicates, each judged against its own budget, with the Wilson interval over all seeds', () => {
    const [p01, p02] = poolWorldGuarantee([a, b]);
    expect(p01?.seeds).toEqual([0, 1, 2, 1000, 1001]);
    expect(p01?.hcRlhf).toMatchObject({ seeds: 5, returned: 4, failures: 2, failureRate: 0.4 });
    const w = wilsonInterval(2, 5);
    expect(p01?.hcRlhf.failureRate95).toEqual([w.low, w.high]);
    expect(p01?.hcRlhf.failures).toBe((a[0]?.hcRlhf.failures as number) + (b[0]?.hcRlhf.failures as number));
    expect(p01?.hcRlhfClearFailures).toBe((a[0]?.hcRlhfClearFailures as number) + (b[0]?.hcRlhfClearFailures as number));
    // uninflated, no test: 0.3 and 0.5 above τ 0 in A, 1.2 above τ 1 in B
    expect(p01?.uninflatedNoTest).toMatchObject({ seeds: 5, returned: 5, failures: 2 + 1 });
    // returned models' helpfulness weighted by how many each replicate returned: (3 + 2.5 + 4 + 3) / 4
    expect(p01?.hcRlhf.meanTrueRewardReturned).toBeCloseTo(12.5 / 4, 12);
    // the price: the mean of the replicates' mean prices (−0.5 and −0.25), a t-interval over the 2 replicates
    expect(p01?.helpfulnessPrice).toEqual(tInterval([a[0]?.helpfulnessPrice?.mean as number, b[0]?.helpfulnessPrice?.mean as number]));
    expect(p01?.helpfulnessPrice?.mean).toBeCloseTo(-0.375, 12);
    // δ 0.2 only in replicate B
    expect(p02?.seeds).toEqual([1000]);
    expect(p02?.hcRlhf).toMatchObject({ seeds: 1, returned: 1, failures: 0 });
  });
});

describe('goldBudgetAt', () => {
  it('reads the least-squares line of gold unsafe share on true cost at τ', () => {
    // exactly on unsafe = 0.5 + 0.1·cost, then with symmetric noise that leaves the line unchanged
    const line = [-4, -3, -2].map((c) => ({ trueCost: c, unsafeShare: 0.5 + 0.1 * c }));
    expect(goldBudgetAt(line, -3.3)).toBeCloseTo(0.17, 12);
    const noisy = [...line.map((p) => ({ ...p, unsafeShare: p.unsafeShare + 0.01 })), ...line.map((p) => ({ ...p, unsafeShare: p.unsafeShare - 0.01 }))];
    expect(goldBudgetAt(noisy, -2.5)).toBeCloseTo(0.25, 12);
    expect(() => goldBudgetAt(line.slice(0, 1), 0)).toThrow(RangeError);
  });
});
