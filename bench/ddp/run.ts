// Data-parallel benchmark: time per training step (SFT or PPO-Lagrangian) of 2 processes × 1 thread against 1 process × 2 threads (same global batch), in safealign and in PyTorch DDP (Gloo).
//
// Method: the four set-ups (safealign 1×2, 2×1; PyTorch 1×2, 2×1) run one after another in rounds, the order
// rotating each round, so all sample the same drifting machine; each run does a warm-up step and `--steps` timed
// ones; the figure is the median step over all rounds. --work sft: safealign runs bench/ddp/worker.ts, i.e. the
// trainers' own startTraining step (shares, scaled loss, bucketed gradient all-reduce, clipping, AdamW), PyTorch
// bench/ddp/torch_ddp.py. --work ppo-lag: bench/rl-step's default-size PPO-Lagrangian step (the default pipeline's
// models and batch; rollouts end at fixed lengths), safealign through trainRl's phases (bench/ddp/worker-rl.ts),
// PyTorch as bench/rl-step/torch_ref.py, whose data-parallel mode shares rows out and wraps the trained models in DDP.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/distributed/index.js';
import { buildWork } from '../rl-step/work.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
if (args.includes('--help')) {
  console.log(`npm run bench:ddp -- [--work sft|ppo-lag (sft)] [--steps N (8; ppo-lag 3)] [--rounds N (3)] [--json]
Train steps in 1 process × 2 threads and 2 processes × 1 thread, in safealign (Gloo through c10d) and
PyTorch (DistributedDataParallel, Gloo); prints the median ms per step and the ratios. Needs Debian's
python3-torch for the PyTorch side.
  sft      the DESIGN.md §1 GPT (d 256, 4 layers, ctx 64, global batch 16): startTraining's step
  ppo-lag  one PPO-Lagrangian step at the default pipeline's settings (bench/rl-step's default size: 64 prompts,
           up to 44 new tokens ending at fixed lengths, mini-batch 32; actor, reference, reward, cost, 2 critics):
           rollouts and scoring shared out by rows, whole-batch advantages and λ, updates data-parallel
--json ends the output with one JSON line: {work, safealign: {oneByTwo, twoByOne}, torch: {…}} in ms.`);
  process.exit(0);
}
const WORKS = ['sft', 'ppo-lag'] as const;
const work = (args.includes('--work') ? args[args.indexOf('--work') + 1] : 'sft') as (typeof WORKS)[number];
if (!WORKS.includes(work)) throw new Error(`--work: unknown work '${work}' (expected ${WORKS.join(' or ')})`);
const steps = flag('--steps', work === 'sft' ? 8 : 3);
const rounds = flag('--rounds', 3);
const workFile = join(tmpdir(), `safealign-bench-ddp-${process.pid}.json`);
if (work === 'ppo-lag') writeFileSync(workFile, JSON.stringify(buildWork('default')));
/** The command of one rank: its engine's worker for the work. */
const commands: Record<Setup['engine'], (threads: string) => string[]> =
  work === 'sft'
    ? { safealign: () => [process.execPath, '--import', 'tsx', 'bench/ddp/worker.ts', String(steps)], torch: (threads) => ['/usr/bin/python3', 'bench/ddp/torch_ddp.py', String(steps), threads] }
    : {
        safealign: () => [process.execPath, '--import', 'tsx', 'bench/ddp/worker-rl.ts', String(steps), workFile],
        torch: (threads) => ['/usr/bin/python3', 'bench/rl-step/torch_ref.py', '--work', workFile, '--steps', String(steps), '--threads', threads],
      };

interface Setup {
  engine: 'safealign' | 'torch';
  procs: number;
}
const SETUPS: Setup[] = [
  { engine: 'safealign', procs: 1 },
  { engine: 'safealign', procs: 2 },
  { engine: 'torch', procs: 1 },
  { engine: 'torch', procs: 2 },
];

/** Runs one set-up: `procs` ranks of 2 / procs threads each; resolves with rank 0's step times (ms). */
async function runSetup(s: Setup): Promise<number[]> {
  const port = await freePort();
  const threads = String(2 / s.procs);
  const outputs = await Promise.all(
    Array.from({ length: s.procs }, (_, rank) => {
      const dist = s.procs > 1 ? { RANK: String(rank), WORLD_SIZE: String(s.procs), LOCAL_RANK: String(rank), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) } : {};
      const { WORLD_SIZE: _w, RANK: _r, ...base } = process.env;
      // OpenMP's passive wait for both engines, as safealign sets it for itself (as bench/rl-step)
      const env = { ...base, ...dist, SAFEALIGN_THREADS: threads, OMP_NUM_THREADS: threads, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
      const argv = commands[s.engine](threads);
      return new Promise<string>((resolve, reject) => {
        const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${s.engine} ${s.procs}×${threads} rank ${rank}: exit ${code}`))));
      });
    }),
  );
  const line = outputs.join('').trim().split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`${s.engine} ${s.procs} processes: no result from rank 0`);
  // bench/rl-step/torch_ref.py reports seconds
  const reply = JSON.parse(line) as { ms?: number[]; times?: number[] };
  return reply.ms ?? (reply.times ?? []).map((t) => 1000 * t);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const times = new Map<Setup, number[]>(SETUPS.map((s) => [s, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < SETUPS.length; k++) {
      const s = SETUPS[(k + r) % SETUPS.length] as Setup;
      const ms = await runSetup(s);
      (times.get(s) as number[]).push(...ms);
      process.stderr.write(`round ${r + 1}: ${s.engine} ${s.procs}×${2 / s.procs}: median ${median(ms).toFixed(1)} ms\n`);
    }
  }
} finally {
  rmSync(workFile, { force: true });
}
const med = (engine: Setup['engine'], procs: number) => median(times.get(SETUPS.find((s) => s.engine === engine && s.procs === procs) as Setup) as number[]);
const result = {
  work,
  safealign: { oneByTwo: med('safealign', 1), twoByOne: med('safealign', 2) },
  torch: { oneByTwo: med('torch', 1), twoByOne: med('torch', 2) },
};
const ratio = (a: number, b: number) => (a / b).toFixed(2);
console.log(`${work === 'sft' ? 'SFT' : 'PPO-Lagrangian'}: ms per step (median of ${rounds} × ${steps} steps), ${work === 'sft' ? 'global batch 16 × 64 tokens' : 'the default pipeline\'s step (64 rollouts)'}:`);
console.log(`  safealign: 1 process × 2 threads ${result.safealign.oneByTwo.toFixed(1)}, 2 processes × 1 thread ${result.safealign.twoByOne.toFixed(1)} (2×1 / 1×2 = ${ratio(result.safealign.twoByOne, result.safealign.oneByTwo)})`);
console.log(`  PyTorch:   1 process × 2 threads ${result.torch.oneByTwo.toFixed(1)}, 2 processes × 1 thread (DDP) ${result.torch.twoByOne.toFixed(1)} (2×1 / 1×2 = ${ratio(result.torch.twoByOne, result.torch.oneByTwo)})`);
console.log(`  safealign / PyTorch: 1×2 ${ratio(result.safealign.oneByTwo, result.torch.oneByTwo)}, 2×1 ${ratio(result.safealign.twoByOne, result.torch.twoByOne)}`);
if (args.includes('--json')) console.log(JSON.stringify(result));
