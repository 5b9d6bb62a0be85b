// `safealign pipeline --methods grpo,safe_grpo,rloo_lag`: the critic-free methods run on the tiny world at equal responses per step and join the report.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { comparisons } from '../../src/pipeline/seeds-aggregate.js';
import { writeTinyPipelineConfig } from '../helpers/tiny-pipeline.js';

const runs = mkdtempSync(join(tmpdir(), 'methods-'));
const config = writeTinyPipelineConfig(runs, 'm', { shaping: '{ nus: [] }', ensemble: '{ members: 0 }', rounds: '{ count: 0 }', groupSampling: '{ samplesPerPrompt: 4 }' });
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--config', config, ...args], { env, encoding: 'utf8' });

interface Stage {
  result: { log: { step: number; lambda?: number; criticLoss: Record<string, number> }[] };
}

describe('pipeline --methods', () => {
  it('runs grpo, safe_grpo and rloo_lag after PPO-Lagrangian, into the same report with wall times', () => {
    const run = cli('--methods', 'grpo,safe_grpo,rloo_lag');
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(runs, 'm', 'report.json'), 'utf8')) as { models: Record<string, { harmfulRate: number; helpfulness: number }>; stageWallTimeSec: Record<string, number> };
    for (const k of ['ppo_lag', 'grpo', 'safe_grpo', 'rloo_lag']) {
      expect(report.models[k]?.harmfulRate, k).toBeGreaterThanOrEqual(0);
      expect(report.stageWallTimeSec[k], k).toBeGreaterThan(0);
    }
    expect(readFileSync(join(runs, 'm', 'report.html'), 'utf8')).toContain('safe_grpo');
    const stage = (k: string) => JSON.parse(readFileSync(join(runs, 'm', k, 'stage.json'), 'utf8')) as Stage;
    // critic-free: no critic losses and no critic in the checkpoint; the constrained ones learn λ against the same d
    for (const k of ['grpo', 'safe_grpo', 'rloo_lag']) expect(stage(k).result.log.map((r) => r.criticLoss)).toEqual(Array(6).fill({}));
    expect(stage('ppo_lag').result.log[0]?.criticLoss).toHaveProperty('cost');
    for (const k of ['safe_grpo', 'rloo_lag']) expect(stage(k).result.log.every((r) => (r.lambda as number) > 0)).toBe(true);
    expect(stage('grpo').result.log[0]?.lambda).toBeUndefined();
    expect(existsSync(join(runs, 'm', 'grpo', 'model', 'model.safetensors'))).toBe(true);
  }, 600_000);

  it('pairs each extra method with PPO-Lagrangian over seeds; an unknown method is a clear error', () => {
    expect(comparisons(['sft', 'ppo_lag', 'grpo', 'rloo_lag'])).toEqual([
      ['ppo_lag', 'sft'],
      ['grpo', 'ppo_lag'],
      ['rloo_lag', 'ppo_lag'],
    ]);
    const bad = cli('--methods', 'grpo,bogus', '--name', 'bad');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/methods.*grpo.*safe_grpo.*rloo_lag/);
    const uneven = cli('--methods', 'rloo_lag', '--name', 'uneven', '--group-sampling-samples-per-prompt', '3');
    expect(uneven.stderr).toMatch(/rl.promptsPerStep 8 is not a multiple of groupSampling.samplesPerPrompt 3/);
  });
});
