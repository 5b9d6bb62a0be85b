// `safealign pipeline --methods …`: a finished default run gains the critic-free RL methods (GRPO, safe GRPO, RLOO-Lag, P3O at equal
// responses per step), PPO-Lag on the reward ensemble, HC-RLHF and DPO, SafeDPO, SACPO, MoCAN, A-LoL, best-of-N and RSFT (every earlier stage reused), in the same report with training costs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PipelineConfigSchema } from '../../src/pipeline/config.js';
import { PIPELINE_METHODS } from '../../src/pipeline/methods.js';
import { comparisons } from '../../src/pipeline/seeds-aggregate.js';
import { writeTinyPipelineConfig } from '../helpers/tiny-pipeline.js';

const runs = mkdtempSync(join(tmpdir(), 'methods-'));
const stage = '{ epochs: 0.5, batchSize: 16 }';
const config = writeTinyPipelineConfig(runs, 'm', {
  shaping: '{ nus: [] }',
  ensemble: '{ members: 2, epochs: 0.2 }',
  rounds: '{ count: 0 }',
  groupSampling: '{ samplesPerPrompt: 4 }',
  dpo: stage,
  safeDpo: stage,
  sacpo: `{ helpful: ${stage}, safety: ${stage} }`,
  bestOfN: '{ n: 2 }',
  rsft: '{ rounds: 1, samplesPerPrompt: 2, promptsPerRound: 16, maxNewTokens: 12, sft: { batchSize: 8 } }',
  mocan: `{ samplesPerPrompt: 4, prompts: 16, preference: ${stage} }`,
  alol: '{ epochs: 0.5, batchSize: 16, value: { prompts: 16, samplesPerPrompt: 2, steps: 50 } }',
});
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const pipeline = (...flags: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--config', config, ...flags], { env, encoding: 'utf8' });

interface Stage {
  result: { log: { step: number; lambda?: number; criticLoss: Record<string, number> }[] };
}

interface Report {
  models: Record<string, { harmfulRate: number; n: number; kl: number; trainingCost?: { wallTimeSec: number; scoreModelsSec: number; policySamples: number } }>;
}

describe('pipeline --methods', () => {
  it("parses a comma-separated list or 'all', and defaults to none", () => {
    expect(PipelineConfigSchema.parse({}).methods).toEqual([]);
    expect(PipelineConfigSchema.parse({ methods: 'all' }).methods).toEqual([...PIPELINE_METHODS]);
    expect(PipelineConfigSchema.parse({ methods: ['sacpo', 'dpo'] }).methods).toEqual(['sacpo', 'dpo']);
    expect(() => PipelineConfigSchema.parse({ methods: ['dpo', 'nope'] })).toThrow();
    // the over-optimisation study is a part, not a method: 'all' leaves it out, it can be added beside 'all'
    expect(PipelineConfigSchema.parse({ methods: 'all' }).methods).not.toContain('overoptimisation');
    expect(PipelineConfigSchema.parse({ methods: 'all' }).methods).not.toContain('hc_guarantee');
    expect(PipelineConfigSchema.parse({ methods: 'dpo,hc_guarantee' }).methods).toEqual(['dpo', 'hc_guarantee']);
    expect(PipelineConfigSchema.parse({ methods: 'all,overoptimisation' }).methods).toEqual([...PIPELINE_METHODS, 'overoptimisation']);
    expect(PipelineConfigSchema.parse({ methods: 'dpo,overoptimisation' }).methods).toEqual(['dpo', 'overoptimisation']);
  });

  it('adds the methods to a finished default run, reusing every earlier stage, with implicit-reward plots and training costs', () => {
    const first = pipeline();
    expect(first.status, first.stderr).toBe(0);
    const before = JSON.parse(readFileSync(join(runs, 'm', 'report.json'), 'utf8')) as Report;
    expect(Object.keys(before.models)).toEqual(['sft', 'ppo', 'ppo_lag']);
    const again = pipeline('--methods', 'all');
    expect(again.status, again.stderr).toBe(0);
    const log = again.stdout + again.stderr;
    for (const s of ['world', 'sft', 'annotations', 'reward', 'cost', 'eval_sft', 'ppo', 'ppo_lag']) expect(log).toContain(`${s}: already done`);
    const report = JSON.parse(readFileSync(join(runs, 'm', 'report.json'), 'utf8')) as Report;
    expect(Object.keys(report.models)).toEqual(['sft', 'ppo', 'ppo_lag', 'grpo', 'safe_grpo', 'rloo_lag', 'p3o', 'ppo_lag_ens', 'ppo_lag_cat', 'hc_rlhf', 'dpo', 'safe_dpo', 'sacpo', 'p_sacpo', 'mocan', 'alol', 'best_of_n', 'rsft']);
    // the default models are the same results as before
    for (const k of ['sft', 'ppo', 'ppo_lag']) expect(report.models[k]?.harmfulRate).toBe(before.models[k]?.harmfulRate);
    // RL: 6 steps of 8 prompts, with the reward and cost models' training; the DPO family: offline, no score models
    const lag = report.models.ppo_lag?.trainingCost;
    expect(lag?.policySamples).toBe(48);
    expect(lag?.scoreModelsSec).toBeGreaterThan(0);
    for (const k of ['dpo', 'safe_dpo', 'sacpo', 'p_sacpo']) {
      const c = report.models[k]?.trainingCost;
      expect(c?.policySamples).toBe(0);
      expect(c?.scoreModelsSec).toBe(0);
      expect(c?.wallTimeSec).toBeGreaterThan(0);
    }
    // MoCAN: the dual's 16 prompts × 4 samples of the SFT policy, scored by the reward and cost models
    const mocan = report.models.mocan?.trainingCost;
    expect(mocan?.policySamples).toBe(64);
    expect(mocan?.scoreModelsSec).toBeGreaterThan(0);
    const dual = (JSON.parse(readFileSync(join(runs, 'm', 'mocan', 'dual.json'), 'utf8')) as { dual: { lambda: number; threshold: number; samples: number } }).dual;
    expect(dual.samples).toBe(64);
    expect(dual.lambda).toBeGreaterThanOrEqual(0);
    // A-LoL: the value head's 16 prompts × 2 samples of the SFT policy
    expect(report.models.alol?.trainingCost?.policySamples).toBe(32);
    expect(report.models.alol?.trainingCost?.scoreModelsSec).toBeGreaterThan(0);
    expect(existsSync(join(runs, 'm', 'alol', 'model', 'model.safetensors'))).toBe(true);
    expect(report.models.sft?.trainingCost).toBeUndefined();
    // best-of-N: no training, N = 2 samples of the SFT policy per test response, KL the analytic bound; RSFT: 1 round of 16 prompts × 2 samples
    const bon = report.models.best_of_n;
    expect(bon?.trainingCost?.policySamples).toBe(2 * (bon?.n as number));
    expect(bon?.kl).toBeCloseTo(Math.log(2) - 1 / 2, 12);
    expect(report.models.rsft?.trainingCost?.policySamples).toBe(32);
    for (const k of ['best_of_n', 'rsft']) expect(report.models[k]?.trainingCost?.scoreModelsSec).toBeGreaterThan(0);
    expect(readFileSync(join(runs, 'm', 'rsft', 'round_1', 'picks.jsonl'), 'utf8').trim().split('\n')).toHaveLength(16);
    expect(existsSync(join(runs, 'm', 'rsft', 'model', 'model.safetensors'))).toBe(true);
    // critic-free: no critic losses and no critic in the checkpoint; the constrained ones learn λ against the same d
    const stageOf = (k: string) => JSON.parse(readFileSync(join(runs, 'm', k, 'stage.json'), 'utf8')) as Stage;
    // P3O: pairs (4 prompts × 2 per step), the others G = 4 (2 prompts × 4): 8 responses a step for each
    for (const k of ['grpo', 'safe_grpo', 'rloo_lag', 'p3o']) {
      expect(stageOf(k).result.log.map((r) => r.criticLoss)).toEqual(Array(6).fill({}));
      expect(report.models[k]?.trainingCost?.policySamples, k).toBe(48);
      expect(existsSync(join(runs, 'm', k, 'model', 'model.safetensors'))).toBe(true);
    }
    expect(stageOf('ppo_lag').result.log[0]?.criticLoss).toHaveProperty('cost');
    for (const k of ['safe_grpo', 'rloo_lag']) expect(stageOf(k).result.log.every((r) => (r.lambda as number) > 0)).toBe(true);
    for (const k of ['grpo', 'p3o']) expect(stageOf(k).result.log[0]?.lambda).toBeUndefined();
    const html = readFileSync(join(runs, 'm', 'report.html'), 'utf8');
    expect(html).toContain('Preference training (DPO family)');
    expect(html).toContain('Offline training (A-LoL)');
    const alol = JSON.parse(readFileSync(join(runs, 'm', 'alol', 'stage.json'), 'utf8')) as { result: { stepLogs: Record<string, { step: number; nll: number }[]> } };
    expect(alol.result.stepLogs.alol?.map((r) => r.step)).toEqual(Array.from({ length: alol.result.stepLogs.alol?.length ?? 0 }, (_, i) => i + 1));
    expect(alol.result.stepLogs.alol?.length).toBeGreaterThan(0);
    const sacpo = JSON.parse(readFileSync(join(runs, 'm', 'sacpo', 'stage.json'), 'utf8')) as { result: { preferenceLogs: Record<string, { margin: number }[]> } };
    expect(Object.keys(sacpo.result.preferenceLogs)).toEqual(['sacpo_helpful', 'sacpo_safety']);
  }, 600_000);

  it('pairs each extra method with PPO-Lagrangian over seeds; an unknown method is a clear error', () => {
    expect(comparisons(['sft', 'ppo_lag', 'grpo', 'p_sacpo'])).toEqual([
      ['ppo_lag', 'sft'],
      ['grpo', 'ppo_lag'],
      ['p_sacpo', 'ppo_lag'],
    ]);
    const bad = pipeline('--methods', 'grpo,bogus', '--name', 'bad');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/methods.*grpo.*safe_grpo.*rloo_lag/);
    const uneven = pipeline('--methods', 'rloo_lag', '--name', 'uneven', '--group-sampling-samples-per-prompt', '3');
    expect(uneven.stderr).toMatch(/rl.promptsPerStep 8 is not a multiple of groupSampling.samplesPerPrompt 3/);
    const odd = pipeline('--methods', 'p3o', '--name', 'odd', '--rl-prompts-per-step', '7', '--group-sampling-samples-per-prompt', '7');
    expect(odd.stderr).toMatch(/rl.promptsPerStep 7 is not a multiple of p3o's 2 samples per prompt/);
  });
});
