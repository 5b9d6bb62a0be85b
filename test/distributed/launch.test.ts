// `safealign launch`: torchrun's environment for each rank, threads split over the ranks, and a failing rank stopping the job.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { LaunchSchema, rankEnv } from '../../src/distributed/index.js';

const launch = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'launch', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
const worker = ['--program', '--', process.execPath, '--import', 'tsx', 'test/distributed/worker.ts'];
const replies = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { rank: number; env: Record<string, string>; threads: number; sumOfRanks: number[] })
    .sort((a, b) => a.rank - b.rank);

describe('safealign launch', () => {
  it("gives each rank torchrun's variables and cores / nproc threads; the ranks form one process group", () => {
    const r = launch('--nproc', '2', '--master-port', '0', '--timeout-seconds', '30', ...worker, 'env');
    expect(r.status, r.stderr).toBe(0);
    const threads = String(Math.max(1, Math.floor(cpus().length / 2)));
    const got = replies(r.stdout);
    expect(got.map((g) => g.env)).toEqual(
      [0, 1].map((rank) => ({ RANK: String(rank), WORLD_SIZE: '2', LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: '2', GROUP_RANK: '0', MASTER_ADDR: '127.0.0.1', SAFEALIGN_THREADS: threads, OMP_NUM_THREADS: threads, SAFEALIGN_DIST_TIMEOUT: '30', SAFEALIGN_DIST_JOIN_TIMEOUT: '900' })),
    );
    expect(got.map((g) => g.threads)).toEqual([Number(threads), Number(threads)]);
    expect(got.map((g) => g.sumOfRanks)).toEqual([[1], [1]]);
  });

  it('numbers the ranks of node 1 of 2 after those of node 0, and takes --threads', () => {
    const config = LaunchSchema.parse({ nproc: 2, nnodes: 2, nodeRank: 1, masterAddr: '10.0.0.1', threads: 3 });
    const envs = [0, 1].map((local) => rankEnv(config, local, 29500));
    expect(envs.map((e) => [e.RANK, e.WORLD_SIZE, e.LOCAL_RANK, e.GROUP_RANK, e.MASTER_ADDR, e.MASTER_PORT, e.SAFEALIGN_THREADS])).toEqual([
      ['2', '4', '0', '1', '10.0.0.1', '29500', '3'],
      ['3', '4', '1', '1', '10.0.0.1', '29500', '3'],
    ]);
    expect(() => LaunchSchema.parse({ nnodes: 2, masterPort: 0 })).toThrow(/same --master-port/);
  });

  it("a rank that fails stops the others and is named; launch exits with its code", () => {
    const r = launch('--nproc', '2', '--master-port', '0', '--timeout-seconds', '60', ...worker, 'exit', '1');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/safealign launch: rank 1 \(local rank 1, pid \d+\) exited with code 3; stopping the other ranks/);
    expect(r.stderr).toMatch(/safealign launch: rank 0 \(local rank 0\) stopped: was killed by SIGTERM/);
    expect(r.stdout).not.toContain('not stopped');
  });

  it('runs a safealign command in every rank, and rejects a bad node rank', () => {
    const r = launch('--nproc', '2', '--', 'launch', '--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.match(/Usage: safealign launch/g)).toHaveLength(2);
    const bad = launch('--nnodes', '2', '--node-rank', '2', '--', 'launch', '--help');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/nodeRank.*nodeRank must be below nnodes/s);
  });
});
