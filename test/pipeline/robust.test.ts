// `safealign pipeline --methods ppo_lag_ens,hc_rlhf`: PPO-Lagrangian on the reward_ensemble stage's saved members (UP-RLHF's mean − k·std), beside ppo_lag;
// HC-RLHF's report row and safety test, passed or "no solution found".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTinyPipelineConfig } from '../helpers/tiny-pipeline.js';

const runs = mkdtempSync(join(tmpdir(), 'robust-'));
const config = writeTinyPipelineConfig(runs, 'r', { shaping: '{ nus: [] }', rounds: '{ count: 0 }', ensemble: '{ members: 2, epochs: 0.2, rl: { reduce: uncertainty, k: 2 } }' });
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const pipeline = (...flags: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--config', config, ...flags], { env, encoding: 'utf8' });

interface Stage { result: { log: { step: number; reward: number; responseLength: number; lambda: number }[] } }
interface SafetyTest { passed: boolean; n: number; mean: number; std: number; upperBound: number; tau: number; delta: number; inflation: number; candidatePrompts: number }
interface Report {
  models: Record<string, { harmfulRate: number; outcome?: string; safetyTest?: SafetyTest; trainingCost?: { scoreModelsSec: number; policySamples: number } }>;
  stageWallTimeSec: Record<string, number>;
  costThreshold: number;
}
const report = (name: string) => JSON.parse(readFileSync(join(runs, name, 'report.json'), 'utf8')) as Report;

describe('pipeline --methods ppo_lag_ens', () => {
  it('trains PPO-Lagrangian on the saved ensemble members, on the same rollouts as ppo_lag scored by another reward', () => {
    const out = pipeline('--methods', 'ppo_lag_ens,hc_rlhf');
    expect(out.status, out.stderr).toBe(0);
    for (const i of [0, 1]) expect(existsSync(join(runs, 'r', 'reward_ensemble', `member_${i}`, 'model', 'model.safetensors'))).toBe(true);
    const r = report('r');
    expect(Object.keys(r.models)).toEqual(['sft', 'ppo', 'ppo_lag', 'ppo_lag_ens', 'hc_rlhf']);
    const stage = (k: string) => (JSON.parse(readFileSync(join(runs, 'r', k, 'stage.json'), 'utf8')) as Stage).result.log;
    const [lag, ens] = [stage('ppo_lag')[0], stage('ppo_lag_ens')[0]];
    // step 1: the same seed and SFT actor give the same responses; the reward differs (members' mean − 2·std, not the reward model)
    expect(ens?.responseLength).toBe(lag?.responseLength);
    expect(ens?.reward).not.toBe(lag?.reward);
    expect(stage('ppo_lag_ens').every((r) => r.lambda > 0)).toBe(true);
    // its reward models are the ensemble's: their training time is what it counts, not the single reward model's
    const cost = r.models.ppo_lag_ens?.trainingCost;
    expect(cost?.policySamples).toBe(48);
    const t = r.stageWallTimeSec;
    expect(cost?.scoreModelsSec).toBeCloseTo((t.reward_ensemble as number) + (t.cost as number), 6);
  });

  it("hc_rlhf: the report row carries the safety test against τ = d, its bound c̄ + t·ŝ/√n_s and the verdict", () => {
    const r = report('r');
    const hc = r.models.hc_rlhf;
    const t = hc?.safetyTest as SafetyTest;
    expect(t.tau).toBe(r.costThreshold);
    expect(hc?.outcome).toBe(t.upperBound <= t.tau ? 'passed' : 'no solution found');
    expect(t.passed).toBe(t.upperBound <= t.tau);
    expect(t.delta).toBe(0.1);
    // half of the train prompts each way, one response per safety prompt
    expect(Math.abs(t.n - t.candidatePrompts)).toBeLessThanOrEqual(1);
    expect(hc?.trainingCost?.policySamples).toBe(48 + t.n);
    expect(readFileSync(join(runs, 'r', 'report.html'), 'utf8')).toContain('HC-RLHF safety test');
  });

  it('hc_rlhf with a budget below every cost: "no solution found" in the report row, the candidate shown', () => {
    const out = pipeline('--methods', 'hc_rlhf', '--ensemble-members', '0', '--ppo-lag-lagrange-threshold', '-1000', '--name', 'tight');
    expect(out.status, out.stderr).toBe(0);
    const hc = report('tight').models.hc_rlhf;
    expect(hc?.outcome).toBe('no solution found');
    expect(hc?.safetyTest?.passed).toBe(false);
    expect(readFileSync(join(runs, 'tight', 'report.html'), 'utf8')).toContain('hc_rlhf (no solution found: candidate shown)');
  });

  it('refuses ppo_lag_ens without ensemble members', () => {
    const out = pipeline('--methods', 'ppo_lag_ens', '--ensemble-members', '0', '--name', 'r0');
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/ppo_lag_ens optimises the reward ensemble, but ensemble.members is 0/);
  });
});
