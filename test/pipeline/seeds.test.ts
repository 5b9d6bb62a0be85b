// `safealign pipeline --seeds 2`: two replicates in child processes, killed mid-run, resumed, aggregated into one report.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { killWhenFileAppears } from '../helpers/kill-when.js';
import { writeTinyPipelineConfig } from '../helpers/tiny-pipeline.js';
import type { SeedsReport } from '../../src/pipeline/seeds-report.js';

const runs = mkdtempSync(join(tmpdir(), 'seeds-'));
// 24 RL steps: the orphaned replicate notices its parent is gone at its next progress call, well before the stage ends.
const config = writeTinyPipelineConfig(runs, 'multi', {
  ensemble: '{ members: 0 }',
  rl: '{ steps: 24, promptsPerStep: 8, miniBatchSize: 8, maxNewTokens: 12, checkpointEvery: 1 }',
});
const args = ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--config', config, '--seeds', '2', '--jobs', '2', '--threads', '1'];
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const dir = join(runs, 'multi');

/** Replicate processes whose parent is `ppid`, from /proc. */
function replicatesOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid && cmdline.includes('replicate-child');
      } catch {
        return false;
      }
    })
    .map(Number);
}
/** Running (not exited, not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('pipeline --seeds', () => {
  it('runs two replicates, survives SIGKILL (orphans stop, replicates resume) and writes the aggregate report', async () => {
    const ckpt = join(dir, 'seed_0', 'ppo_lag', 'checkpoint', 'state.json');
    const parent = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let parentLog = '';
    parent.stdout.on('data', (b: Buffer) => (parentLog += b.toString('utf8')));
    parent.stderr.on('data', (b: Buffer) => (parentLog += b.toString('utf8')));
    // The replicates still running when seed_0 reaches PPO-Lagrangian: on a loaded machine seed_1 may be far
    // behind or (rarely) already finished; a failed one shows in the parent's log.
    let unfinished = 0;
    const replicas = await killWhenFileAppears(parent, ckpt, 10, () => {
      unfinished = [0, 1].filter((k) => !existsSync(join(dir, `seed_${k}`, 'report.json'))).length;
      return replicatesOf(parent.pid as number);
    });
    expect(replicas, `the run was killed during seed_0 PPO-Lagrangian\n${parentLog}`).not.toBeNull();
    expect(unfinished).toBeGreaterThanOrEqual(1);
    expect((replicas as number[]).length, `one replicate process per unfinished replicate\n${parentLog}`).toBeGreaterThanOrEqual(unfinished);
    // The orphaned replicate processes notice their parent is gone and stop.
    const deadline = Date.now() + 20_000;
    while ((replicas as number[]).some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((replicas as number[]).filter(alive)).toEqual([]);
    expect(existsSync(join(dir, 'report.json'))).toBe(false);

    const again = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    const log = again.stdout + again.stderr;
    expect(again.status, log).toBe(0);
    for (const k of [0, 1]) for (const stage of ['world', 'sft', 'reward', 'cost']) expect(log).toContain(`[seed_${k}] ${stage}: already done`);
    const resumed = /\[seed_0\] ppo_lag: resuming from step (\d+)\b/.exec(log);
    expect(resumed, 'seed_0 PPO-Lagrangian resumed from its checkpoint').not.toBeNull();
    expect(Number(resumed?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(resumed?.[1])).toBeLessThan(24);
    expect(log).toContain('2 replicates (varying the training seed), 2 at a time, 1 libtorch thread each');
    expect(log).toMatch(/Mean and 95% t-interval over 2 seeds/);

    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SeedsReport;
    expect(report.nSeeds).toBe(2);
    expect(report.seeds.map((s) => [s.dir, s.seed, s.worldSeed])).toEqual([
      ['seed_0', 0, 1234],
      ['seed_1', 1, 1234],
    ]);
    const models = ['sft', 'ppo', 'shaping_1', 'ppo_lag', 'round_1'];
    for (const s of report.seeds) expect(Object.keys(s.models)).toEqual(models);
    expect(Object.keys(report.aggregate)).toEqual(models);
    for (const m of models) {
      for (const metric of ['harmfulRate', 'helpfulness', 'meanReward', 'meanCost', 'kl'] as const) {
        const iv = report.aggregate[m]?.[metric];
        const values = report.seeds.map((s) => s.models[m]?.[metric] as number);
        expect(iv?.mean, `${m}.${metric}`).toBeCloseTo((values[0] as number) / 2 + (values[1] as number) / 2, 12);
        expect(iv?.lo as number).toBeLessThanOrEqual(Math.min(...values));
        expect(iv?.hi as number).toBeGreaterThanOrEqual(Math.max(...values));
      }
    }
    // Each replicate is a complete single run with its own report; the seed_1 config is seed 1.
    for (const k of [0, 1]) expect(existsSync(join(dir, `seed_${k}`, 'report.html'))).toBe(true);
    expect((JSON.parse(readFileSync(join(dir, 'seed_1', 'config.json'), 'utf8')) as { seed: number }).seed).toBe(1);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('Models over 2 seeds');
    expect(html.match(/<svg[\s>]/g)?.length).toBe(1);

    // A changed setting is refused, naming the field; more seeds would be accepted.
    const changed = spawnSync(process.execPath, [...args, '--rl-steps', '7'], { env, encoding: 'utf8' });
    expect(changed.status).toBe(1);
    expect(changed.stderr).toContain('changed: rl.steps');
  }, 420_000);
});
