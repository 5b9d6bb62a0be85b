// Process groups on c10d across real processes: collectives on known tensors, and peers that never come or die.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { distributedFromEnv, DistributedEnvError, freePort } from '../../src/distributed/index.js';

interface Reply {
  rank: number;
  error?: string;
  message?: string;
  lostRanks?: number[];
  [k: string]: unknown;
}

/** Runs test/distributed/worker.ts as the given ranks of a world of `worldSize`; resolves with each rank's reply and time. */
async function runRanks(ranks: number[], worldSize: number, args: string[], timeoutSeconds = 3, joinTimeoutSeconds = 60): Promise<(Reply & { ms: number; code: number | null })[]> {
  const port = await freePort();
  return Promise.all(
    ranks.map(
      (rank) =>
        new Promise<Reply & { ms: number; code: number | null }>((resolve, reject) => {
          const t0 = Date.now();
          const env = { ...process.env, RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_RANK: String(rank), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), SAFEALIGN_DIST_TIMEOUT: String(timeoutSeconds), SAFEALIGN_DIST_JOIN_TIMEOUT: String(joinTimeoutSeconds), SAFEALIGN_THREADS: '1' };
          const child = spawn(process.execPath, ['--import', 'tsx', 'test/distributed/worker.ts', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('error', reject);
          child.on('exit', (code) => {
            const line = out.trim().split('\n').pop() ?? '';
            const reply = (line.startsWith('{') ? JSON.parse(line) : { rank, error: 'no reply', message: err }) as Reply;
            resolve({ ...reply, ms: Date.now() - t0, code });
          });
        }),
    ),
  );
}

describe('ProcessGroup (Gloo over TCPStore, 2 processes)', () => {
  it('all-reduce (sum, avg, max, coalesced), broadcast, all-gather and barrier give the known results on every rank', async () => {
    const replies = await runRanks([0, 1], 2, ['collectives'], 20);
    for (const r of replies) {
      expect(r.error, r.message).toBeUndefined();
      expect(r.sum).toEqual([3, 30]);
      expect(r.avg).toEqual([[[1.5, 3]], [-1.5]]);
      expect(r.a).toEqual([1, 201, 2]);
      expect(r.b).toEqual([[3, 10], [14, -1]]);
      expect(r.max).toEqual([1, 0]);
      expect(r.bcast).toEqual([8, 1]);
      expect(r.gathered).toEqual([[[0, 0]], [[1, 1]]]);
    }
    expect(replies.map((r) => r.rank)).toEqual([0, 1]);
  });

  it('a rank that never starts: the others fail after the join timeout naming it, whether it is rank 1 or the store host rank 0', async () => {
    const [zero] = await runRanks([0], 2, ['collectives'], 300, 2);
    expect(zero?.error).toBe('DistributedError');
    expect(zero?.message).toMatch(/^rank 0 of 2: rank 1 did not join within 2 s/);
    expect(zero?.lostRanks).toEqual([1]);
    expect(zero?.ms).toBeLessThan(60_000);
    const [one] = await runRanks([1], 2, ['collectives'], 300, 2);
    expect(one?.error).toBe('DistributedError');
    expect(one?.message).toMatch(/^rank 1 of 2: cannot reach rank 0's rendezvous store at 127\.0\.0\.1:\d+ within 2 s/);
    expect(one?.lostRanks).toEqual([0]);
  });

  it("a rank that dies: the survivor's next collective fails naming it, for rank 1 and for rank 0 (the store host)", async () => {
    const [one, zero] = [await runRanks([0, 1], 2, ['lose-peer', '1'], 3), await runRanks([0, 1], 2, ['lose-peer', '0'], 3)];
    expect(one.map((r) => r.code)).toEqual([0, 0]);
    expect(one[0]?.lostRanks, JSON.stringify(one[0])).toEqual([1]);
    expect(one[0]?.message).toMatch(/^rank 0 of 2: allReduce\(sum\) \(collective #2\) failed: rank 1 did not answer within 3 s: exited or hangs \(Gloo: .+\)$/);
    expect(zero[1]?.lostRanks, JSON.stringify(zero[1])).toEqual([0]);
    expect(zero[1]?.message).toMatch(/^rank 1 of 2: allReduce\(sum\) \(collective #2\) failed: rank 0 has exited: the rendezvous store it hosts at 127\.0\.0\.1:\d+ no longer answers/);
  });

  it('a rank that hangs: the collective times out instead of waiting forever, naming it', async () => {
    const [zero] = await runRanks([0, 1], 2, ['stall', '1', '9000'], 2);
    expect(zero?.lostRanks, JSON.stringify(zero)).toEqual([1]);
    expect(zero?.message).toMatch(/^rank 0 of 2: allReduce\(sum\) \(collective #2\) failed: rank 1 did not answer within 2 s: exited or hangs \(Gloo: .*Timed out/);
  });
});

describe('distributedFromEnv', () => {
  it("reads torchrun's variables, is null without WORLD_SIZE and names a bad variable", () => {
    expect(distributedFromEnv({})).toBeNull();
    expect(distributedFromEnv({ RANK: '1', WORLD_SIZE: '4', LOCAL_RANK: '1', MASTER_ADDR: '10.0.0.2', MASTER_PORT: '1234' })).toEqual({ rank: 1, worldSize: 4, localRank: 1, masterAddr: '10.0.0.2', masterPort: 1234, timeoutSeconds: 300, joinTimeoutSeconds: 900 });
    expect(distributedFromEnv({ RANK: '0', WORLD_SIZE: '1' })).toEqual({ rank: 0, worldSize: 1, localRank: 0, masterAddr: '127.0.0.1', masterPort: 29500, timeoutSeconds: 300, joinTimeoutSeconds: 900 });
    expect(() => distributedFromEnv({ RANK: '2', WORLD_SIZE: '2' })).toThrow(/RANK=2: rank must be below worldSize/);
    expect(() => distributedFromEnv({ RANK: '0', WORLD_SIZE: 'two' })).toThrow(/WORLD_SIZE=two: /);
    expect(() => distributedFromEnv({ WORLD_SIZE: '2' })).toThrow(DistributedEnvError);
  });
});
