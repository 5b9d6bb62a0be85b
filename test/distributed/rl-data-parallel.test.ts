// Data-parallel RL: PPO-Lagrangian steps on a fixed rollout in 2 processes (scoring and mini-batches shared by rows) end where 1 process ends.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/distributed/index.js';
import { S } from '../helpers/rl-step-setup.js';
import { PKU_SAMPLE, saveTinyPkuModels } from '../helpers/tiny-cli-models.js';

interface Run {
  rank: number;
  worldSize: number;
  records: Record<string, unknown>[];
  actor: Record<string, number[]>;
  critics: Record<string, Record<string, number[]>>;
}

/** test/distributed/rl-worker.ts as one process (ranks []) or as ranks 0..n-1 of one job; each rank's JSON line. */
async function run(worldSize: number, args: string[]): Promise<Run[]> {
  const port = await freePort();
  const ranks = worldSize === 1 ? [null] : Array.from({ length: worldSize }, (_, r) => r);
  return Promise.all(
    ranks.map(
      (rank) =>
        new Promise<Run>((resolve, reject) => {
          const dist = rank === null ? {} : { RANK: String(rank), WORLD_SIZE: String(worldSize), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), SAFEALIGN_DIST_TIMEOUT: '60' };
          const { WORLD_SIZE: _w, RANK: _r, ...env } = process.env;
          const child = spawn(process.execPath, ['--import', 'tsx', 'test/distributed/rl-worker.ts', ...args], { env: { ...env, ...dist, SAFEALIGN_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() as string) as Run) : reject(new Error(`rank ${rank}: exit ${code}: ${err}`))));
        }),
    ),
  );
}

/**
 * Largest |a − b| over the weights, leaving out the attention key bias (the middle third of c_attn.bias): its true
 * gradient is 0, so both sides step on rounding noise that Adam scales up to ~lr (see rl-step-golden.test.ts);
 * those elements are returned apart.
 */
function maxDiff(a: Record<string, number[]>, b: Record<string, number[]>): { diff: number; keyBias: number } {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  let diff = 0;
  let keyBias = 0;
  for (const [name, xs] of Object.entries(a)) {
    const ys = b[name] as number[];
    const d = xs.length / 3;
    xs.forEach((x, i) => {
      const e = Math.abs(x - (ys[i] as number));
      if (name.endsWith('attn.c_attn.bias') && i >= d && i < 2 * d) keyBias = Math.max(keyBias, e);
      else diff = Math.max(diff, e);
    });
  }
  return { diff, keyBias };
}

describe('data-parallel RL (2 processes, same rollout)', () => {
  it.each([['token'], ['per-sequence']])("3 PPO-Lagrangian steps, lossAggregation '%s': actor, critics, λ and log equal 1 process", async (aggregation) => {
    const [one, two] = [await run(1, ['ppo_lag', aggregation, '3']), await run(2, ['ppo_lag', aggregation, '3'])];
    const single = one[0] as Run;
    expect(single.worldSize).toBe(1);
    expect(two.map((r) => [r.rank, r.worldSize])).toEqual([[0, 2], [1, 2]]);
    const steps = 3;
    for (const r of two) {
      const actor = maxDiff(single.actor, r.actor);
      expect(actor.diff).toBeLessThan(1e-5);
      expect(actor.keyBias).toBeLessThan(2 * steps * (S.actorLr as number));
      for (const s of Object.keys(single.critics)) expect(maxDiff(single.critics[s] as Record<string, number[]>, r.critics[s] as Record<string, number[]>).diff).toBeLessThan(1e-5);
      r.records.forEach((rec, i) => {
        const want = single.records[i] as Record<string, unknown>;
        for (const k of ['reward', 'cost', 'kl', 'lambda', 'jc', 'actorLoss', 'clipFraction'] as const) {
          if (want[k] === undefined) continue;
          expect(rec[k], `step ${i + 1} ${k}`).toBeCloseTo(want[k] as number, 5);
        }
        expect(rec.criticLoss).toEqual(Object.fromEntries(Object.entries(want.criticLoss as Record<string, number>).map(([k, v]) => [k, expect.closeTo(v, 5)])));
      });
    }
    // the run moved: λ changed and the weights left their start
    expect(single.records[2]?.lambda).not.toBeCloseTo(single.records[0]?.lambda as number, 4);
  });

  it('3 PPO-Lagrangian steps on image + text prompts (LLaVA models, each row its own image): actor, critics, λ and log equal 1 process', async () => {
    const [one, two] = [await run(1, ['images', 'token', '3']), await run(2, ['images', 'token', '3'])];
    const single = one[0] as Run;
    for (const r of two) {
      expect(maxDiff(single.actor, r.actor).diff).toBeLessThan(1e-5);
      for (const s of Object.keys(single.critics)) expect(maxDiff(single.critics[s] as Record<string, number[]>, r.critics[s] as Record<string, number[]>).diff).toBeLessThan(1e-5);
      r.records.forEach((rec, i) => {
        for (const k of ['reward', 'cost', 'kl', 'lambda', 'actorLoss'] as const) expect(rec[k], `step ${i + 1} ${k}`).toBeCloseTo((single.records[i] as Record<string, number>)[k] as number, 5);
      });
    }
    expect(single.records[2]?.lambda).not.toBeCloseTo(single.records[0]?.lambda as number, 4);
  });

  it("rollout shares are gathered as one process lays a batch out: prompts left-padded, responses right-padded, rows in rank order", async () => {
    const replies = (await run(2, ['gather'])) as unknown as Record<string, unknown>[];
    for (const r of replies) {
      expect(r.promptLength).toBe(3);
      expect(r.sequences).toEqual([[9, 1, 2, 3, 4, 9], [9, 9, 5, 6, 9, 9], [7, 8, 9, 4, 9, 9]]);
      expect(r.attentionMask).toEqual([[0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0]]);
      expect(r.mask).toEqual([[1, 1, 0], [1, 0, 0], [1, 0, 0]]);
      expect(r.oldLogProbs).toEqual([[-1, -2, 0], [-3, 0, 0], [-4, 0, 0]]);
    }
  });

  it('safealign launch --nproc 2 -- safealign train ppo-lag: rollouts of 3 prompts shared 2 + 1 and gathered; rank 0 alone writes and reports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddp-rl-'));
    saveTinyPkuModels(dir);
    const out = join(dir, 'ppo-lag');
    const env = { ...process.env, CI: 'true' };
    const text = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'launch', '--nproc', '2', '--master-port', '0', '--timeout-seconds', '120', '--', 'train', 'ppo-lag', '--actor', join(dir, 'sft'), '--reward', join(dir, 'reward'), '--cost', join(dir, 'cost'),
        '--prompts', PKU_SAMPLE, '--out', out, '--rl-steps', '2', '--rl-prompts-per-step', '3', '--rl-mini-batch-size', '2', '--rl-max-new-tokens', '8'],
      { encoding: 'utf8', env },
    );
    expect(text.match(/ppo-lag: 2 steps/g)).toHaveLength(1);
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; lambda: number; kl: number });
    expect(log.map((r) => r.step)).toEqual([1, 2]);
    for (const r of log) expect(Number.isFinite(r.lambda) && Number.isFinite(r.kl)).toBe(true);
  });
});
