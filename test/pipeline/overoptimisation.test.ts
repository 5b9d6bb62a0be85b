// `safealign pipeline --methods overoptimisation`: long runs log proxy, gold and KL at every step, the report bins them into curves
// with a gold peak; the remedies score the same rollouts with another reward; best-of-N by the proxy over nested N.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OveroptimisationResult } from '../../src/pipeline/overoptimisation.js';
import { writeTinyPipelineConfig } from '../helpers/tiny-pipeline.js';

const runs = mkdtempSync(join(tmpdir(), 'overopt-'));
const config = writeTinyPipelineConfig(runs, 'o', {
  shaping: '{ nus: [] }',
  rounds: '{ count: 0 }',
  overoptimisation: '{ variants: [ppo, uncertainty, warm], steps: 5, promptsPerStep: 8, every: 2, bestOfN: { ns: [1, 2, 4], prompts: 6 } }',
});
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const pipeline = (...flags: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--config', config, ...flags], { env, encoding: 'utf8' });

interface LogRecord { step: number; reward: number; kl: number; goldHelpfulness: number; goldHarmfulRate: number; responseLength?: number }
const stageLog = (k: string) => (JSON.parse(readFileSync(join(runs, 'o', k, 'stage.json'), 'utf8')) as { result: { log: LogRecord[] } }).result.log;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('pipeline --methods overoptimisation', () => {
  let out: ReturnType<typeof pipeline>;
  beforeAll(() => {
    out = pipeline('--methods', 'overoptimisation');
  }, 600_000);

  it('logs proxy reward, gold and KL at every step of every run, and bins them into the curve of report.json', () => {
    expect(out.status, out.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(runs, 'o', 'report.json'), 'utf8')) as { overoptimisation: OveroptimisationResult; stageWallTimeSec: Record<string, number> };
    const oo = report.overoptimisation;
    expect(Object.keys(oo.runs)).toEqual(['ppo', 'uncertainty', 'warm']);
    for (const k of ['ppo', 'uncertainty', 'warm'] as const) {
      const log = stageLog(`overopt_${k}`);
      expect(log.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
      for (const r of log) {
        expect(Number.isFinite(r.goldHelpfulness) && Number.isFinite(r.goldHarmfulRate) && Number.isFinite(r.kl) && Number.isFinite(r.reward)).toBe(true);
      }
      const run = oo.runs[k];
      // bins of 2 steps: (1, 2), (3, 4), (5)
      expect(run?.curve.map((p) => p.step)).toEqual([2, 4, 5]);
      const bins = [log.slice(0, 2), log.slice(2, 4), log.slice(4)];
      bins.forEach((bin, i) => {
        const p = run?.curve[i];
        expect(p?.gold).toBeCloseTo(mean(bin.map((r) => r.goldHelpfulness)), 12);
        expect(p?.proxy).toBeCloseTo(mean(bin.map((r) => r.reward)), 12);
        expect(p?.kl).toBeCloseTo(mean(bin.map((r) => r.kl)), 12);
        expect(p?.harm).toBeCloseTo(mean(bin.map((r) => r.goldHarmfulRate)), 12);
      });
      const best = Math.max(...(run?.curve.map((p) => p.gold) ?? []));
      expect(run?.peak.peak.gold).toBe(best);
      expect(run?.peak.drop).toBeCloseTo(best - (run?.curve[2]?.gold as number), 12);
      expect(run?.rlSec).toBe(report.stageWallTimeSec[`overopt_${k}`]);
      expect(existsSync(join(runs, 'o', `overopt_${k}`, 'model', 'model.safetensors'))).toBe(true);
    }
    // the remedies pay for the ensemble's training, plain PPO for the reward model's
    expect(oo.runs.warm?.scoreModelsSec).toBe(report.stageWallTimeSec.reward_ensemble);
    expect(oo.runs.ppo?.scoreModelsSec).toBe(report.stageWallTimeSec.reward);
    expect(readFileSync(join(runs, 'o', 'report.html'), 'utf8')).toContain('Reward over-optimisation');
  });

  it('step 1 of every run samples the same responses from the SFT policy as the pipeline\'s own PPO (same seed and prompts); only the proxy differs', () => {
    const [ppo, own, ens, warm] = [stageLog('overopt_ppo')[0], stageLog('ppo')[0], stageLog('overopt_uncertainty')[0], stageLog('overopt_warm')[0]];
    // the gold of the step's rollouts is the same as the pipeline's PPO run at its first step
    expect(ppo?.goldHelpfulness).toBe(own?.goldHelpfulness);
    expect(ppo?.reward).toBe(own?.reward);
    for (const r of [ens, warm]) {
      expect(r?.goldHelpfulness).toBe(ppo?.goldHelpfulness);
      expect(r?.reward).not.toBe(ppo?.reward);
    }
  });

  it('best-of-N: the proxy of the picks never falls as N grows (nested samples), and N = 1 is the mean of first samples', () => {
    const oo = (JSON.parse(readFileSync(join(runs, 'o', 'report.json'), 'utf8')) as { overoptimisation: OveroptimisationResult }).overoptimisation;
    const bon = oo.bestOfN;
    expect(bon?.prompts).toBe(6);
    expect(bon?.curve.map((p) => p.n)).toEqual([1, 2, 4]);
    expect(bon?.curve[0]?.kl).toBe(0);
    const proxy = bon?.curve.map((p) => p.proxy) ?? [];
    expect(proxy[1]).toBeGreaterThanOrEqual(proxy[0] as number);
    expect(proxy[2]).toBeGreaterThanOrEqual(proxy[1] as number);
  });

  it('refuses the remedies without ensemble members', () => {
    const r = pipeline('--methods', 'overoptimisation', '--ensemble-members', '0', '--name', 'o0');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/overoptimisation runs uncertainty, warm on the reward ensemble, but ensemble.members is 0/);
  });
});
