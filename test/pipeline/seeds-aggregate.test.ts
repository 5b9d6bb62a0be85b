// Aggregation over replicates: per-model t-intervals, paired differences by hand, replicate configs (seed + k / world.seed + k).
import { describe, expect, it } from 'vitest';
import { PipelineConfigSchema } from '../../src/pipeline/config.js';
import { aggregateModels, categoryDifferences, comparisons, modelMetrics, pairedDifferences, type ModelMetrics, type ReplicateResult } from '../../src/pipeline/seeds-aggregate.js';
import type { PolicyEval } from '../../src/pipeline/evaluate-policy.js';
import { assertSameMultiSeedConfig, replicates, threadsPerJob } from '../../src/pipeline/seeds.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const T975_2 = 4.302652729749462; // t_{0.975, 2} (reference/golden/intervals.json)

function m(harmfulRate: number, helpfulness: number, heldOut?: [number, number]): ModelMetrics {
  return { harmfulRate, helpfulness, meanReward: helpfulness / 2, meanCost: harmfulRate - 1, kl: 1, ...(heldOut ? { heldOut: { harmfulRate: heldOut[0], helpfulness: heldOut[1] } } : {}) };
}
function rep(k: number, models: Record<string, ModelMetrics>): ReplicateResult {
  return { replicate: k, dir: `seed_${k}`, seed: k, worldSeed: 1234, models, costThreshold: -1, wallTimeSec: 10 };
}

// Three seeds; SFT 0.5/0.4/0.6 harmful, PPO-Lag 0.05/0.02/0.05, so PPO-Lag − SFT = −0.45/−0.38/−0.55.
const results = [
  rep(0, { sft: m(0.5, 3.5, [0.6, 3]), ppo_lag: m(0.05, 3.7, [0.1, 3.1]), shaping_2: m(0.02, 3.0, [0.05, 2.5]), round_1: m(0.04, 3.6, [0.1, 3.0]) }),
  rep(1, { sft: m(0.4, 3.4, [0.5, 3]), ppo_lag: m(0.02, 3.9, [0.1, 3.3]), shaping_2: m(0.01, 3.1, [0.05, 2.6]), round_1: m(0.03, 3.5, [0.1, 3.1]) }),
  rep(2, { sft: m(0.6, 3.6, [0.7, 3]), ppo_lag: m(0.05, 4.1, [0.2, 3.2]), shaping_2: m(0.04, 3.2, [0.05, 2.7]), round_1: m(0.06, 3.7, [0.2, 3.2]) }),
];

describe('aggregate over seeds', () => {
  it('mean and t-interval of every metric per model (hand-computed)', () => {
    const agg = aggregateModels(results);
    expect(Object.keys(agg)).toEqual(['sft', 'ppo_lag', 'shaping_2', 'round_1']);
    // SFT harmful: mean 0.5, sd 0.1, se 0.1/√3
    const h = agg.sft?.harmfulRate;
    expect(h?.mean).toBeCloseTo(0.5, 12);
    expect(h?.hi).toBeCloseTo(0.5 + (T975_2 * 0.1) / Math.sqrt(3), 10);
    expect(h?.lo).toBeCloseTo(0.5 - (T975_2 * 0.1) / Math.sqrt(3), 10);
    expect(h?.n).toBe(3);
    expect(agg.ppo_lag?.kl).toEqual({ mean: 1, lo: 1, hi: 1, n: 3 });
    expect(agg.ppo_lag?.meanReward.mean).toBeCloseTo(1.95, 12);
    expect(agg.ppo_lag?.heldOut?.helpfulness.mean).toBeCloseTo(3.2, 12);
  });

  it('paired differences: ppo_lag − sft, ppo_lag − shaping_ν, round_k − ppo_lag and − sft, on every paired metric', () => {
    expect(comparisons(['sft', 'ppo', 'shaping_0.5', 'shaping_2', 'ppo_lag', 'round_1', 'round_2'])).toEqual([
      ['ppo_lag', 'sft'],
      ['ppo_lag', 'shaping_0.5'],
      ['ppo_lag', 'shaping_2'],
      ['round_1', 'ppo_lag'],
      ['round_1', 'sft'],
      ['round_2', 'ppo_lag'],
      ['round_2', 'sft'],
    ]);
    const diffs = pairedDifferences(results);
    expect(diffs).toHaveLength(4 * 4);
    const d = diffs.find((x) => x.a === 'ppo_lag' && x.b === 'sft' && x.metric === 'harmfulRate');
    // differences −0.45, −0.38, −0.55: mean −0.46, sd = √(((0.01)² + (0.08)² + (0.09)²)/2) = √0.0073
    const sd = Math.sqrt((0.01 ** 2 + 0.08 ** 2 + 0.09 ** 2) / 2);
    expect(d?.mean).toBeCloseTo(-0.46, 12);
    expect(d?.hi).toBeCloseTo(-0.46 + (T975_2 * sd) / Math.sqrt(3), 10);
    // The paired interval is far narrower than the two models' own intervals would suggest.
    expect((d?.hi as number) < 0).toBe(true);
    const held = diffs.find((x) => x.a === 'round_1' && x.b === 'ppo_lag' && x.metric === 'heldOut.helpfulness');
    // 3.0 − 3.1, 3.1 − 3.3, 3.2 − 3.2 = −0.1, −0.2, 0: mean −0.1, sd 0.1
    expect(held?.mean).toBeCloseTo(-0.1, 12);
    expect(held?.lo).toBeCloseTo(-0.1 - (T975_2 * 0.1) / Math.sqrt(3), 10);
  });

  it('held-out metrics are left out when a replicate lacks them', () => {
    const noHeld = results.map((r, i) => (i === 1 ? rep(1, { ...r.models, sft: m(0.4, 3.4) }) : r));
    expect(aggregateModels(noHeld).sft?.heldOut).toBeUndefined();
    expect(aggregateModels(noHeld).ppo_lag?.heldOut).toBeDefined();
    expect(pairedDifferences(noHeld).filter((x) => x.b === 'sft' && x.metric.startsWith('heldOut'))).toHaveLength(0);
  });

  it('per harm category: mean over seeds, the worst category, paired differences against ppo_lag (models with categories only)', () => {
    const cats = (violence: number, drugs: number) => ({ harmfulByCategory: { Drugs: drugs, Violence: violence } });
    // ppo_lag_cat − ppo_lag on Violence: −0.25, −0.5, 0; worst category per seed: ppo_lag 0.5/0.5/0.25, ppo_lag_cat 0.25/0.25/0.25
    const withCats = results.map((r, k) =>
      rep(k, {
        ...r.models,
        ppo_lag: { ...(r.models.ppo_lag as ModelMetrics), ...cats([0.5, 0.5, 0.25][k] as number, 0) },
        ppo_lag_cat: { ...(r.models.ppo_lag as ModelMetrics), ...cats([0.25, 0, 0.25][k] as number, [0, 0.25, 0][k] as number) },
      }),
    );
    const agg = aggregateModels(withCats);
    expect(agg.ppo_lag?.harmfulByCategory?.byCategory.Violence?.mean).toBeCloseTo(0.4166666666666667, 12);
    expect(agg.ppo_lag?.harmfulByCategory?.worst.mean).toBeCloseTo(0.4166666666666667, 12);
    expect(agg.ppo_lag_cat?.harmfulByCategory?.worst).toEqual({ mean: 0.25, lo: 0.25, hi: 0.25, n: 3 });
    expect(agg.sft?.harmfulByCategory).toBeUndefined();
    const diffs = categoryDifferences(withCats);
    expect(diffs.map((d) => `${d.a} − ${d.b}`)).toEqual(['ppo_lag_cat − ppo_lag']);
    const d = diffs[0];
    expect(d?.byCategory.Violence?.mean).toBeCloseTo(-0.25, 12);
    expect(d?.byCategory.Violence?.hi).toBeCloseTo(-0.25 + (T975_2 * 0.25) / Math.sqrt(3), 10);
    expect(d?.byCategory.Drugs?.mean).toBeCloseTo(1 / 12, 12);
    expect(d?.worst.mean).toBeCloseTo(0.25 - 0.4166666666666667, 12);
    // a policy evaluation's per-category rates become the replicate's metrics
    const ev = { harmfulRate: 0.5, helpfulness: 3, meanReward: 0, meanCost: 0, kl: 0, harmfulByCategory: { Drugs: { harmfulRate: 0.25, n: 8 } } } as unknown as PolicyEval;
    expect(modelMetrics(ev).harmfulByCategory).toEqual({ Drugs: 0.25 });
  });
});

describe('replicates', () => {
  it('vary training: seed + k in seed_<k> inside the run folder, world unchanged; threads shared out', () => {
    const config = PipelineConfigSchema.parse({ name: 'exp', runsDir: 'runs', seed: 7, seeds: 3 });
    const reps = replicates(config, 1);
    expect(reps.map((r) => [r.dir, r.config.name, r.config.runsDir, r.config.seed, r.config.world.seed, r.config.seeds, r.config.threads])).toEqual([
      ['seed_0', 'seed_0', 'runs/exp', 7, 1234, 1, 1],
      ['seed_1', 'seed_1', 'runs/exp', 8, 1234, 1, 1],
      ['seed_2', 'seed_2', 'runs/exp', 9, 1234, 1, 1],
    ]);
    // Each replicate's config is a valid single-run config.
    for (const r of reps) expect(PipelineConfigSchema.parse(r.config)).toEqual(r.config);
    expect(threadsPerJob(config, 2)).toBe(1); // 2 jobs on 2 cores
    expect(threadsPerJob({ ...config, jobs: 1 }, 2)).toBe(2);
    expect(threadsPerJob({ ...config, jobs: 4 }, 2)).toBe(1);
    expect(threadsPerJob({ ...config, threads: 3 }, 2)).toBe(3);
  });

  it('vary world: world.seed + k, training seed unchanged', () => {
    const config = PipelineConfigSchema.parse({ name: 'exp', seeds: 2, vary: 'world' });
    expect(replicates(config).map((r) => [r.config.seed, r.config.world.seed])).toEqual([
      [0, 1234],
      [0, 1235],
    ]);
  });

  it('a multi-seed run saved before a setting existed resumes with its default; a changed setting is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seeds-config-'));
    const config = PipelineConfigSchema.parse({ seeds: 3, runsDir: dir, name: 'r' });
    const { lagrangeLr: _, ...olderGrpo } = config.grpo;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, grpo: olderGrpo }));
    expect(() => assertSameMultiSeedConfig(join(dir, 'config.json'), config)).not.toThrow();
    expect(() => assertSameMultiSeedConfig(join(dir, 'config.json'), { ...config, grpo: { ...config.grpo, lagrangeLr: 0.5 } })).toThrow(/changed: grpo.lagrangeLr/);
  });
});
