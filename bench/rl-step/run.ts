// RL-step benchmark: one PPO-Lagrangian step (actor, reference, reward, cost, two critics) at the default pipeline's settings and at GPT-2 small, time per phase and peak RSS beside PyTorch.
//
// Method: every (size, engine, mode) runs in its own process — safealign through trainRl's own phases
// (sampleRollout + scoreRollout + rlStep, the code `safealign train ppo-lag` runs), PyTorch as bench/rl-step/torch_ref.py
// doing the same work — so each process's peak RSS is that configuration's alone. Both read one work file
// (bench/rl-step/work.ts: model shape, prompts, stop schedule), so they start from the same prompts and their responses
// end at the same lengths: at the default size each row's EOS is forced at the length of one SFT demonstration of
// its prompt and banned before (a logits processor on both sides; nothing is trained, so a random model would
// otherwise almost never stop). Each process runs one untimed warm-up step, then --steps timed ones. The two engines
// take turns (--rounds runs each, the order flipping every round, a pause before each) so both see the same machine.
// The headline time is the median step over all runs of a side; peak RSS is the largest of its runs.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sampleRollout } from '../../src/algorithms/rl/rollout.js';
import { scoreRollout } from '../../src/algorithms/rl/scoring.js';
import { rlStep } from '../../src/algorithms/rl/step.js';
import { setNumThreads, tidy } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';
import { LORA, setupRlStep, stopSchedule } from './setup.js';
import { buildWork, SIZES, type RlStepWork, type Size } from './work.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
if (args.includes('--help')) {
  console.log(`npm run bench:rl-step -- [--sizes default,124m] [--size S] [--modes full,lora (full)] [--steps N (3)] [--rounds N (2)] [--threads N (2)] [--json]
One PPO-Lagrangian step (rollout; reference, reward, cost and two critic passes; GAE, λ; actor and critic updates)
of randomly initialised GPT-2 models, in safealign and in PyTorch (bench/rl-step/torch_ref.py, Debian's python3-torch),
each engine and mode in its own process, the engines taking turns.
Sizes (--sizes takes a comma-separated list, --size one):
  default  the default pipeline's settings: GPT-2 2 layers × 128, context 96, the world tokenizer's vocabulary; 64 world
           train prompts, up to 44 new tokens, mini-batch 32, one PPO epoch. Responses end at EOS at the length of one
           SFT demonstration of their prompt (8–41 tokens with EOS, mean 22): both engines force EOS there and ban it
           before, so both do the same work and early exit, length buckets and the shared prompt pass show. PyTorch runs
           a plain loop: KV cache, finished rows kept in the decoding batch, padded scoring and updates.
  124m     GPT-2 small (d 768, 12 layers, vocab 50257); 8 random prompts of 64 tokens, 64 new tokens, no stop token.
  tiny     d 64, 2 layers, vocab 1024; as 124m otherwise.
Modes: full fine-tuning; lora = r 8, alpha 16, dropout 0.05 on c_attn of the actor and both critics.
Prints seconds per step (median), per phase (generation; scoring; update) and peak RSS, and PyTorch's ÷ ours
(the speed-up: above 1, safealign is faster); then the process CPU seconds of each phase (medians; the step's is
their sum), which other work on a shared machine disturbs less than wall-clock. To compare the work alone, run
with OPENBLAS_NUM_THREADS=1 --threads 1 (--threads sets libtorch's threads; OpenBLAS keeps its own unless told).
--json ends the output with one JSON line: step_s, torch_step_s, speedup, <phase>_s, torch_<phase>_s,
speedup_<phase>, cpu_step_s, torch_cpu_step_s, cpu_speedup, cpu_<phase>_s, torch_cpu_<phase>_s,
peak_rss_mb, torch_peak_rss_mb for the default size in full fine-tuning; the same names
with _124m / _tiny and _lora appended for the other sizes and modes.`);
  process.exit(0);
}
const parseList = <T extends string>(flag: string, value: string, allowed: readonly T[]): T[] =>
  value.split(',').map((v) => {
    if (!(allowed as readonly string[]).includes(v)) throw new Error(`${flag}: unknown value '${v}' (expected ${allowed.join(', ')}, comma-separated)`);
    return v as T;
  });
const steps = Number(opt('--steps', '3'));
const rounds = Number(opt('--rounds', '2'));
const threads = Number(opt('--threads', '2'));
const ALL_MODES = ['full', 'lora'] as const;
type Mode = (typeof ALL_MODES)[number];
const MODES = parseList('--modes', opt('--modes', 'full'), ALL_MODES);
const SIZE_LIST = parseList('--sizes', opt('--size', opt('--sizes', 'default,124m')), SIZES);

/** The phases of a step, timed apart: sampling the rollout; reference, reward, cost and critic passes; advantages, λ and the actor and critic updates. */
const PHASES = ['generation', 'scoring', 'update'] as const;
type Phase = (typeof PHASES)[number];

interface WorkerResult {
  times: number[];
  /** Seconds of each timed step's phases. */
  phases: Record<Phase, number[]>;
  /** The same in process CPU seconds (every thread's): what a phase cost, less disturbed than wall-clock by other work on the machine. */
  cpuPhases: Record<Phase, number[]>;
  maxRssMB: number;
  /** RSS with the engine loaded and no model built: the runtime's own share of the peak. */
  baseRssMB: number;
}

/** One process's work: build the six models, one warm-up step, `steps` timed ones; prints a WorkerResult. */
function worker(mode: Mode, work: RlStepWork): void {
  setNumThreads(threads);
  const baseRssMB = process.memoryUsage().rss / 2 ** 20;
  const { ctx, config, tokens } = setupRlStep(work, mode === 'lora');
  const actor = ctx.models.actor;
  const method = ctx.method;
  const processLogits = work.stops ? stopSchedule(work.stops, work.eosId, work.model.vocab_size) : undefined;
  const phases: Record<Phase, number[]> = { generation: [], scoring: [], update: [] };
  const cpuPhases: Record<Phase, number[]> = { generation: [], scoring: [], update: [] };
  const cpuSeconds = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const step = (i: number, timed: boolean) =>
    tidy(() => {
      let t = performance.now();
      let c = cpuSeconds();
      const lap = (phase: Phase) => {
        const [now, cpu] = [performance.now(), cpuSeconds()];
        if (timed) {
          phases[phase].push((now - t) / 1000);
          cpuPhases[phase].push(cpu - c);
        }
        [t, c] = [now, cpu];
      };
      const rollout = sampleRollout(actor, work.prompts, config, tokens, processLogits);
      lap('generation');
      const lengths = (rollout.mask.sum(1).toArray() as number[]).join(',');
      if (work.stops && lengths !== work.stops.map((s) => Math.min(s, work.newTokens)).join(',')) throw new Error(`the responses end at ${lengths}, not where the stop schedule says`);
      const scores = scoreRollout(ctx.models, ctx.critics, method.usesCost, rollout, i + 1);
      lap('scoring');
      rlStep(ctx, rollout, i + 1, new Rng(i), scores);
      lap('update');
    });
  step(0, false);
  const times = Array.from({ length: steps }, (_, i) => {
    const t0 = performance.now();
    step(i + 1, true);
    return (performance.now() - t0) / 1000;
  });
  console.log(JSON.stringify({ times, phases, cpuPhases, maxRssMB: process.resourceUsage().maxRSS / 1024, baseRssMB } satisfies WorkerResult));
}

function run(cmd: string, argv: string[]): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    // OpenMP's passive wait for both sides, as safealign sets it for itself (README: Correctness and speed)
    const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => reject(new Error(`cannot start ${cmd}: ${e.message}${cmd.includes('python') ? '. Install it: apt-get install -y python3-torch' : ''}`)));
    p.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`${cmd} ${argv.join(' ')} failed (exit ${code}):\n${err}`));
      else resolve(JSON.parse(last) as WorkerResult);
    });
  });
}

const SIDES = {
  ours: (mode: Mode, workFile: string) => run(process.execPath, ['--import', 'tsx', 'bench/rl-step/run.ts', '--worker', mode, '--work', workFile, '--steps', String(steps), '--threads', String(threads)]),
  torch: (mode: Mode, workFile: string) => run('/usr/bin/python3', ['bench/rl-step/torch_ref.py', '--mode', mode, '--work', workFile, '--steps', String(steps), '--threads', String(threads)]),
};
type Side = keyof typeof SIDES;

interface Figures {
  secondsPerStep: number;
  phases: Record<Phase, number>;
  /** Median CPU seconds of each phase, and their sum. */
  cpuPhases: Record<Phase, number>;
  cpuPerStep: number;
  peakRssMB: number;
  baseRssMB: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function figures(rs: WorkerResult[]): Figures {
  const phases = Object.fromEntries(PHASES.map((p) => [p, median(rs.flatMap((x) => x.phases[p]))])) as Record<Phase, number>;
  const cpuPhases = Object.fromEntries(PHASES.map((p) => [p, median(rs.flatMap((x) => x.cpuPhases[p]))])) as Record<Phase, number>;
  const cpuPerStep = PHASES.reduce((sum, p) => sum + cpuPhases[p], 0);
  return { secondsPerStep: median(rs.flatMap((x) => x.times)), phases, cpuPhases, cpuPerStep, peakRssMB: Math.max(...rs.map((x) => x.maxRssMB)), baseRssMB: median(rs.map((x) => x.baseRssMB)) };
}

/** The JSON names of a (size, mode): none for the default size in full fine-tuning, else _<size> and _<mode> appended. */
const suffix = (size: Size, mode: Mode) => `${size === 'default' ? '' : `_${size}`}${mode === 'full' ? '' : `_${mode}`}`;

async function measure(size: Size): Promise<Record<string, number>> {
  const work = buildWork(size);
  const workFile = join(tmpdir(), `safealign-rl-step-${process.pid}-${size}.json`);
  writeFileSync(workFile, JSON.stringify(work));
  const json: Record<string, number> = {};
  const c = work.model;
  console.log(`\nPPO-Lagrangian step, GPT-2 ${size} (d ${c.n_embd}, ${c.n_layer} layers, vocab ${c.vocab_size}, context ${c.n_positions}); ${work.describe}; ${threads} threads`);
  console.log(`${rounds} runs per side and mode, ${steps} timed steps each (after one warm-up step)${MODES.includes('lora') ? `; LoRA: r ${LORA.r}, alpha ${LORA.alpha}, dropout ${LORA.dropout} on c_attn of actor and critics` : ''}`);
  try {
    for (const mode of MODES) {
      const results: Record<Side, WorkerResult[]> = { ours: [], torch: [] };
      for (let r = 0; r < rounds; r++) {
        for (const side of r % 2 === 0 ? (['ours', 'torch'] as const) : (['torch', 'ours'] as const)) {
          await sleep(300);
          results[side].push(await SIDES[side](mode, workFile));
        }
      }
      const [o, t] = [figures(results.ours), figures(results.torch)];
      const up = (ours: number, torch: number) => `${ours.toFixed(3)} / ${torch.toFixed(3)} s (${(torch / ours).toFixed(2)}x)`;
      console.log(`${mode.padEnd(5)} step ${up(o.secondsPerStep, t.secondsPerStep)}   ${PHASES.map((p) => `${p} ${up(o.phases[p], t.phases[p])}`).join('   ')}`);
      console.log(`${''.padEnd(5)} CPU  ${up(o.cpuPerStep, t.cpuPerStep)}   ${PHASES.map((p) => `${p} ${up(o.cpuPhases[p], t.cpuPhases[p])}`).join('   ')}`);
      console.log(`${''.padEnd(5)} peak RSS ${o.peakRssMB.toFixed(0)} / ${t.peakRssMB.toFixed(0)} MB (${(o.peakRssMB / t.peakRssMB).toFixed(2)}x; runtimes alone ${o.baseRssMB.toFixed(0)} / ${t.baseRssMB.toFixed(0)} MB, included)`);
      const s = suffix(size, mode);
      Object.assign(json, { [`step_s${s}`]: o.secondsPerStep, [`torch_step_s${s}`]: t.secondsPerStep, [`speedup${s}`]: t.secondsPerStep / o.secondsPerStep });
      for (const p of PHASES) Object.assign(json, { [`${p}_s${s}`]: o.phases[p], [`torch_${p}_s${s}`]: t.phases[p], [`speedup_${p}${s}`]: t.phases[p] / o.phases[p] });
      Object.assign(json, { [`cpu_step_s${s}`]: o.cpuPerStep, [`torch_cpu_step_s${s}`]: t.cpuPerStep, [`cpu_speedup${s}`]: t.cpuPerStep / o.cpuPerStep });
      for (const p of PHASES) Object.assign(json, { [`cpu_${p}_s${s}`]: o.cpuPhases[p], [`torch_cpu_${p}_s${s}`]: t.cpuPhases[p] });
      Object.assign(json, { [`peak_rss_mb${s}`]: o.peakRssMB, [`torch_peak_rss_mb${s}`]: t.peakRssMB });
    }
  } finally {
    rmSync(workFile, { force: true });
  }
  return json;
}

async function main(): Promise<void> {
  console.log('seconds ours / PyTorch (PyTorch ÷ ours: the speed-up, above 1 = safealign faster); medians');
  const json: Record<string, number> = {};
  for (const size of SIZE_LIST) Object.assign(json, await measure(size));
  if (args.includes('--json')) console.log(JSON.stringify({ sizes: SIZE_LIST, modes: MODES, threads, steps, rounds, ...json }));
}

const workerMode = args.includes('--worker') ? (opt('--worker', 'full') as Mode) : null;
if (workerMode) worker(workerMode, JSON.parse(readFileSync(opt('--work', ''), 'utf8')) as RlStepWork);
else await main();
