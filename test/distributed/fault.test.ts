// Fault tolerance of data-parallel training: a rank killed mid-run makes the survivor fail naming it, and relaunching resumes from the last checkpoint.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/distributed/index.js';
import { killWhenFileAppears } from '../helpers/kill-when.js';
import { PKU_SAMPLE, saveTinyPkuModels } from '../helpers/tiny-cli-models.js';
import { compareWeights } from '../helpers/weights.js';

const dir = mkdtempSync(join(tmpdir(), 'ddp-fault-'));
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env });
const launch2 = (...args: string[]) => cli('launch', '--nproc', '2', '--master-port', '0', '--timeout-seconds', '120', '--', 'safealign', ...args);
/** Seconds a collective waits for a peer before naming it (SAFEALIGN_DIST_TIMEOUT of the ranks). */
const TIMEOUT_S = 5;

/** SFT on the PKU sample for 50 steps of 8 (a constant rate), a checkpoint every 5 steps. */
const STEPS = 50;
const sftArgs = (out: string) => ['train', 'sft', '--model', join(dir, 'sft'), '--train', PKU_SAMPLE, '--test', PKU_SAMPLE, '--sft-epochs', '10', '--sft-batch-size', '8', '--sft-optim-warmup-ratio', '0', '--sft-optim-schedule', 'constant', '--sft-checkpoint-every', '5', '--out', out];

/** The step of the checkpoint in `out`, or 0 while there is none (or it is being replaced). */
function checkpointStep(out: string): number {
  const file = join(out, 'checkpoint', 'state.json');
  if (!existsSync(file)) return 0;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { step: number }).step;
  } catch {
    return 0;
  }
}

interface Rank {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; at: number }>;
}

/** Starts the 2 ranks of `args` by hand, with torchrun's variables (as on two machines: no launcher watches them). */
async function startRanks(args: string[]): Promise<Rank[]> {
  const port = await freePort();
  return [0, 1].map((rank) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: { ...env, RANK: String(rank), WORLD_SIZE: '2', LOCAL_RANK: String(rank), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), SAFEALIGN_DIST_TIMEOUT: String(TIMEOUT_S), OMP_NUM_THREADS: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; at: number }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr, at: Date.now() })));
    return { child, exit };
  });
}

beforeAll(() => saveTinyPkuModels(dir));

describe('a rank lost in the middle of data-parallel SFT', () => {
  it('the survivor exits with an error naming the killed rank; the same command relaunched resumes and ends where an uninterrupted run ends', async () => {
    const out = join(dir, 'killed-1');
    const ranks = await startRanks(sftArgs(out));
    const [zero, one] = ranks as [Rank, Rank];
    // rank 1 dies as soon as rank 0 has written the first checkpoint (step 5 of 50)
    expect(await killWhenFileAppears(one.child, join(out, 'checkpoint', 'state.json'), 20)).toBe(true);
    const killedAt = Date.now();
    const killedAfter = checkpointStep(out);
    const [z, o] = await Promise.all([zero.exit, one.exit]);
    expect(o.signal).toBe('SIGKILL');
    expect(z.code, z.stderr).toBe(1);
    expect(z.stderr).toMatch(new RegExp(`safealign: rank 0 of 2: \\w+\\(\\w+\\) \\(collective #\\d+\\) failed: rank 1 did not answer within ${TIMEOUT_S} s: exited or hangs`));
    // it gives up after the collective's timeout, not never (generous: the machine is shared)
    expect(z.at - killedAt).toBeLessThan(60_000);
    const saved = checkpointStep(out);
    expect(saved).toBeGreaterThanOrEqual(killedAfter);
    expect(saved).toBeLessThan(STEPS);
    expect(saved % 5).toBe(0);

    // relaunch the same command under `safealign launch`; compare with 2 processes straight through
    const relaunched = launch2(...sftArgs(out));
    expect(relaunched.status, relaunched.stderr).toBe(0);
    expect(relaunched.stderr).toContain(`sft: resuming from step ${saved} (${join(out, 'checkpoint')})`);
    expect(relaunched.stdout).toMatch(new RegExp(`SFT: ${STEPS} steps`));
    const straight = join(dir, 'straight');
    const uninterrupted = launch2(...sftArgs(straight));
    expect(uninterrupted.status, uninterrupted.stderr).toBe(0);
    expect(uninterrupted.stderr).not.toContain('resuming');
    const log = (o: string) => (JSON.parse(readFileSync(join(o, 'checkpoint', 'state.json'), 'utf8')) as { log: { step: number; loss: number }[] }).log;
    const [resumedLog, straightLog] = [log(out), log(straight)];
    expect(resumedLog.map((r) => r.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    resumedLog.forEach((r, i) => expect(r.loss).toBeCloseTo((straightLog[i] as { loss: number }).loss, 5));
    const { diff, moved, names } = compareWeights(out, straight, join(dir, 'sft'));
    expect(names).toBe(true);
    expect(moved).toBeGreaterThan(1e-3);
    expect(diff).toBeLessThan(1e-5);
  }, 900_000);

  it('rank 0 killed (it hosts the rendezvous store): rank 1 exits with an error naming it', async () => {
    const out = join(dir, 'killed-0');
    const ranks = await startRanks(sftArgs(out));
    const [zero, one] = ranks as [Rank, Rank];
    expect(await killWhenFileAppears(zero.child, join(out, 'checkpoint', 'state.json'), 20)).toBe(true);
    const [z, o] = await Promise.all([zero.exit, one.exit]);
    expect(z.signal).toBe('SIGKILL');
    expect(o.code, o.stderr).toBe(1);
    expect(o.stderr).toMatch(/safealign: rank 1 of 2: \w+\(\w+\) \(collective #\d+\) failed: rank 0 has exited: the rendezvous store it hosts at 127\.0\.0\.1:\d+ no longer answers/);
    const s = checkpointStep(out);
    expect(s > 0 && s < STEPS, `checkpoint at step ${s}`).toBe(true);
  }, 300_000);
});
