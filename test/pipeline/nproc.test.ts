// `safealign pipeline --nproc 2`: the tiny pipeline data-parallel, killed mid-PPO-Lagrangian and resumed, against the same run in one process.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { killWhenFileAppears } from '../helpers/kill-when.js';
import { writeTinyPipelineConfig } from '../helpers/tiny-pipeline.js';

const runs = mkdtempSync(join(tmpdir(), 'nproc-'));
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const pipeline = (name: string, ...flags: string[]) => ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--config', writeTinyPipelineConfig(runs, name), ...flags];

interface Metrics {
  harmfulRate: number;
  helpfulness: number;
  meanReward: number;
  kl: number;
}
interface ScoreEval {
  accuracy: number;
  safeMean: number;
  unsafeMean: number;
}
const stage = <T>(name: string, s: string) => (JSON.parse(readFileSync(join(runs, name, s, 'stage.json'), 'utf8')) as { result: T }).result;
const report = (name: string) => JSON.parse(readFileSync(join(runs, name, 'report.json'), 'utf8')) as { models: Record<string, Metrics> };

describe('pipeline --nproc 2', () => {
  it('runs the tiny pipeline as 2 processes, resumes after a kill, and matches 1 process (exactly in the supervised stages)', async () => {
    // killed (SIGTERM to the launcher, passed to both ranks) once PPO-Lagrangian has a checkpoint, then run again
    const first = spawn(process.execPath, pipeline('two', '--nproc', '2'), { env, stdio: 'ignore' });
    const ckpt = join(runs, 'two', 'ppo_lag', 'checkpoint', 'state.json');
    const killed = await killWhenFileAppears(first, ckpt, 20, () => true, 'SIGTERM');
    expect(killed, 'the run was stopped during PPO-Lagrangian').toBe(true);
    await new Promise((r) => first.on('exit', r));
    const two = spawnSync(process.execPath, pipeline('two', '--nproc', '2'), { env, encoding: 'utf8' });
    expect(two.status, two.stderr).toBe(0);
    for (const s of ['world', 'sft', 'annotations', 'reward', 'cost', 'reward_ensemble', 'eval_sft', 'ppo']) expect(two.stderr).toContain(`${s}: already done`);
    expect(two.stderr).toMatch(/ppo_lag: resuming from step [1-5]\b/);
    expect(two.stdout.match(/Results on the test prompts/g), 'rank 0 alone reports').toHaveLength(1);

    const one = spawnSync(process.execPath, pipeline('one'), { env, encoding: 'utf8' });
    expect(one.status, one.stderr).toBe(0);

    // SFT and the score models train on the same global batches: equal up to float summation order
    const sft = ['one', 'two'].map((n) => stage<{ evalLoss: number; log: { loss: number }[] }>(n, 'sft'));
    expect(sft[1]?.evalLoss).toBeCloseTo(sft[0]?.evalLoss as number, 5);
    sft[1]?.log.forEach((r, i) => expect(r.loss).toBeCloseTo(sft[0]?.log[i]?.loss as number, 5));
    for (const kind of ['reward', 'cost']) {
      const [a, b] = ['one', 'two'].map((n) => stage<Record<'validation' | 'test' | 'gold', ScoreEval>>(n, kind));
      for (const split of ['validation', 'test', 'gold'] as const) {
        expect(b?.[split].accuracy, `${kind} ${split}`).toBe(a?.[split].accuracy);
        expect(b?.[split].safeMean).toBeCloseTo(a?.[split].safeMean as number, 4);
        expect(b?.[split].unsafeMean).toBeCloseTo(a?.[split].unsafeMean as number, 4);
      }
    }
    const [r1, r2] = [report('one'), report('two')];
    expect(Object.keys(r2.models).sort()).toEqual(Object.keys(r1.models).sort());
    // the SFT policy evaluated by rank 0 with the same seeds: the same responses
    expect(r2.models.sft?.harmfulRate).toBe(r1.models.sft?.harmfulRate);
    expect(r2.models.sft?.meanReward).toBeCloseTo(r1.models.sft?.meanReward as number, 4);
    // RL: each rank samples its share of the rollouts from its own stream, so the samples (not their distribution) differ
    for (const k of ['ppo', 'shaping_1', 'ppo_lag', 'round_1']) {
      const [a, b] = [r1.models[k] as Metrics, r2.models[k] as Metrics];
      expect(Math.abs(b.harmfulRate - a.harmfulRate), k).toBeLessThan(0.05);
      expect(Math.abs(b.helpfulness - a.helpfulness), k).toBeLessThan(0.05);
      expect(b.kl, k).toBeLessThan(0.1);
    }
  }, 1_200_000);

  it('refuses --nproc with --seeds', () => {
    const r = spawnSync(process.execPath, pipeline('both', '--nproc', '2', '--seeds', '2'), { env, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--nproc 2 spreads one run over processes, --seeds 2 runs replicates/);
  }, 60_000);
});
