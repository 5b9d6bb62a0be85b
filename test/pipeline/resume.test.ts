// Killing `safealign pipeline` mid-PPO-Lagrangian and running it again resumes from the checkpoint and finishes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { killWhenFileAppears } from '../helpers/kill-when.js';
import { writeTinyPipelineConfig } from '../helpers/tiny-pipeline.js';

const runs = mkdtempSync(join(tmpdir(), 'resume-'));
// the round's KL reference is the SFT policy here (rounds.reference), checked at the end; it is scored by the
// ensemble of the first and the retrained models, against a no-regress budget; its red-team pairs are the costliest of 2 per pair kept
const config = writeTinyPipelineConfig(runs, 'small', { rounds: '{ count: 1, pairs: 16, rlSteps: 2, reference: sft, scoreModels: ensemble, budget: no-regress, redTeamPairs: costliest, candidates: 2, criticWarmupSteps: 1 }' });
const args = ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--config', config];
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };

describe('pipeline resume', () => {
  it('resumes PPO-Lagrangian from its last checkpoint after SIGKILL and writes the report', async () => {
    const ckpt = join(runs, 'small', 'ppo_lag', 'checkpoint', 'state.json');
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    const killed = await killWhenFileAppears(child, ckpt, 10);
    expect(killed, 'the run was killed during PPO-Lagrangian').toBe(true);
    expect(existsSync(join(runs, 'small', 'ppo_lag', 'stage.json'))).toBe(false);
    const again = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    const log = again.stdout + again.stderr;
    for (const stage of ['world', 'sft', 'annotations', 'reward', 'cost', 'reward_ensemble', 'score_scatter', 'ppo', 'shaping_1']) expect(log).toContain(`${stage}: already done`);
    expect(log).toMatch(/ppo_lag: resuming from step [1-5]\b/);
    const report = JSON.parse(readFileSync(join(runs, 'small', 'report.json'), 'utf8')) as {
      models: Record<string, { harmfulRate: number }>;
      threshold: number;
      rounds: { threshold: number; startCost: number | null }[];
    };
    // d is in the cost model's units: the round recalibrates it with its retrained cost model on the validation split.
    expect(Number.isFinite(report.rounds[0]?.threshold)).toBe(true);
    expect(report.rounds[0]?.threshold).not.toBe(report.threshold);
    // no-regress: d never above the start policy's expected cost under the round's cost model; the log names both
    const startCost = report.rounds[0]?.startCost ?? NaN;
    expect(Number.isFinite(startCost)).toBe(true);
    expect(report.rounds[0]?.threshold).toBeLessThanOrEqual(startCost);
    const dLine = /round_1: cost threshold d = (-?[\d.]+)/.exec(log);
    expect(dLine, 'the calibrated d is logged').not.toBeNull();
    expect(report.rounds[0]?.threshold).toBeCloseTo(Math.min(Number(dLine?.[1]), startCost), 2);
    expect(log).toContain('round_1: scored by the mean of 2 reward and 2 cost models');
    // SFT response pairs labelled by the simulated annotators; the round's pairs come from the PPO-Lag policy.
    const lines = (f: string) => readFileSync(join(runs, 'small', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const annotated = lines('annotations/preferences.jsonl');
    expect(annotated).toHaveLength(24);
    expect(annotated.every((r) => r.response_0_source === 'sft' && typeof r.better_response_id === 'number')).toBe(true);
    expect(lines('round_1/preferences.jsonl')).toHaveLength(16);
    expect(log).toMatch(/round_1: kept the 8 of 16 red-team pairs whose costlier response the start cost model scores highest/);
    expect(Object.keys(report.models).sort()).toEqual(['ppo', 'ppo_lag', 'round_1', 'sft', 'shaping_1']);
    const state = JSON.parse(readFileSync(join(runs, 'small', 'ppo_lag', 'stage.json'), 'utf8')) as { result: { log: unknown[] } };
    expect(state.result.log).toHaveLength(6);
    // A round starts from the PPO-Lag policy: against that start its first rollouts would have KL ≈ 0;
    // against the SFT reference they have the PPO-Lag policy's KL to SFT.
    const round = JSON.parse(readFileSync(join(runs, 'small', 'round_1', 'stage.json'), 'utf8')) as { result: { log: { kl: number }[] } };
    expect(round.result.log[0]?.kl).toBeGreaterThan(1e-3);
  }, 240_000);
});
