// RL-step benchmark: one PPO-Lagrangian step (actor, reference, reward, cost, two critics; 8 prompts, 64 new tokens), full and LoRA, time and peak RSS beside PyTorch.
//
// Method: every (engine, mode) runs in its own process — safealign through trainRl's own phases
// (sampleRollout + rlStep, the code `safealign train ppo-lag` runs), PyTorch as bench/rl-step/torch_ref.py
// doing the same work — so each process's peak RSS is that configuration's alone. Each process runs
// one untimed warm-up step, then --steps timed ones. The two engines take turns (--rounds runs each,
// the order flipping every round, a pause before each) so both see the same machine conditions.
// The headline time is the median step over all runs of a side; peak RSS is the largest of its runs.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { LagrangeSchema } from '../../src/algorithms/ppo-lag/config.js';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { createRlContext } from '../../src/algorithms/rl/context.js';
import { sampleRollout } from '../../src/algorithms/rl/rollout.js';
import { scoreRollout } from '../../src/algorithms/rl/scoring.js';
import { rlStep } from '../../src/algorithms/rl/step.js';
import { applyLora, createCausalLM, parseModelConfig, ScoreModel } from '../../src/models/index.js';
import { manualSeed, randint, setNumThreads, tidy } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
if (args.includes('--help')) {
  console.log(`npm run bench:rl-step -- [--size tiny|124m (tiny)] [--modes full,lora (both)] [--steps N (3)] [--rounds N (2)] [--threads N (2)] [--json]
One PPO-Lagrangian step (actor, reference, reward, cost, two critics; 8 prompts of 64 tokens, 64 new
tokens, one mini-batch) of a randomly initialised GPT-2 (tiny: d 64, 2 layers, vocab 1024; 124m:
GPT-2 small, d 768, 12 layers, vocab 50257), full fine-tuning and LoRA (r 8, alpha 16, dropout 0.05
on c_attn of the actor and both critics), in safealign and in PyTorch (Debian's python3-torch).
Prints seconds per step (median), per phase (generation, scoring, update) and peak RSS of each,
and the ratios ours / PyTorch.
--json ends the output with one JSON line of the figures.`);
  process.exit(0);
}
const size = opt('--size', 'tiny') as 'tiny' | '124m';
const steps = Number(opt('--steps', '3'));
const rounds = Number(opt('--rounds', '2'));
const threads = Number(opt('--threads', '2'));
const ALL_MODES = ['full', 'lora'] as const;
type Mode = (typeof ALL_MODES)[number];
const MODES = opt('--modes', ALL_MODES.join(','))
  .split(',')
  .map((m) => {
    if (!(ALL_MODES as readonly string[]).includes(m)) throw new Error(`--modes: unknown mode '${m}' (expected full, lora or both, comma-separated)`);
    return m as Mode;
  });
const SIZES = {
  tiny: { n_embd: 64, n_layer: 2, n_head: 4, n_positions: 256, vocab_size: 1024 },
  '124m': { n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 },
};
const [B, PROMPT, NEW] = [8, 64, 64];
const LORA = { r: 8, alpha: 16, dropout: 0.05 };

/** The phases of a step, timed apart: sampling the rollout; reference, reward, cost and critic passes; advantages, λ and the actor and critic updates. */
const PHASES = ['generation', 'scoring', 'update'] as const;
type Phase = (typeof PHASES)[number];

interface WorkerResult {
  times: number[];
  /** Seconds of each timed step's phases. */
  phases: Record<Phase, number[]>;
  maxRssMB: number;
  /** RSS with the engine loaded and no model built: the runtime's own share of the peak. */
  baseRssMB: number;
}

/** One process's work: build the six models, one warm-up step, `steps` timed ones; prints a WorkerResult. */
function worker(mode: Mode): void {
  setNumThreads(threads);
  manualSeed(0);
  const baseRssMB = process.memoryUsage().rss / 2 ** 20;
  const actor = createCausalLM(parseModelConfig({ model_type: 'gpt2', tie_word_embeddings: true, ...SIZES[size] }));
  const reference = actor.clone();
  const rewardModel = ScoreModel.fromCausalLM(actor, 'reward');
  const costModel = ScoreModel.fromCausalLM(actor, 'cost');
  const critics = { reward: ScoreModel.fromScoreModel(rewardModel, 'critic'), cost: ScoreModel.fromScoreModel(costModel, 'critic') };
  if (mode === 'lora') for (const m of [actor, critics.reward, critics.cost]) applyLora(m, LORA);
  const method = ppoLagMethod({ klCoef: 0.01, scoreClip: 50, lagrange: { ...LagrangeSchema.parse({}), threshold: 0 } });
  const config = RlConfigSchema.parse({ promptsPerStep: B, maxNewTokens: NEW, miniBatchSize: B, ppoEpochs: 1 });
  const ctx = createRlContext(method, { actor, reference, rewardModel, costModel, critics }, config, [], 0);
  const prompts = randint(1, SIZES[size].vocab_size, [B, PROMPT]).toArray() as number[][];
  const phases: Record<Phase, number[]> = { generation: [], scoring: [], update: [] };
  const step = (i: number, timed: boolean) =>
    tidy(() => {
      let t = performance.now();
      const lap = (phase: Phase) => {
        const now = performance.now();
        if (timed) phases[phase].push((now - t) / 1000);
        t = now;
      };
      // no stop token: every response is NEW tokens long, as in the PyTorch reference
      const rollout = sampleRollout(actor, prompts, config, { padId: 0, eosId: undefined });
      lap('generation');
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
  console.log(JSON.stringify({ times, phases, maxRssMB: process.resourceUsage().maxRSS / 1024, baseRssMB } satisfies WorkerResult));
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
  ours: (mode: Mode) => run(process.execPath, ['--import', 'tsx', 'bench/rl-step/run.ts', '--worker', mode, '--size', size, '--steps', String(steps), '--threads', String(threads)]),
  torch: (mode: Mode) => run('/usr/bin/python3', ['bench/rl-step/torch_ref.py', '--mode', mode, '--size', size, '--steps', String(steps), '--threads', String(threads)]),
};
type Side = keyof typeof SIDES;

async function main(): Promise<void> {
  const results = Object.fromEntries(MODES.map((m) => [m, { ours: [], torch: [] }])) as unknown as Record<Mode, Record<Side, WorkerResult[]>>;
  for (const mode of MODES) {
    for (let r = 0; r < rounds; r++) {
      for (const side of r % 2 === 0 ? (['ours', 'torch'] as const) : (['torch', 'ours'] as const)) {
        await sleep(300);
        results[mode][side].push(await SIDES[side](mode));
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const figures = Object.fromEntries(
    MODES.flatMap((mode) =>
      (['ours', 'torch'] as const).map((side) => {
        const rs = results[mode][side];
        const phases = Object.fromEntries(PHASES.map((p) => [p, median(rs.flatMap((x) => x.phases[p]))])) as Record<Phase, number>;
        return [`${side}_${mode}`, { secondsPerStep: median(rs.flatMap((x) => x.times)), phases, peakRssMB: Math.max(...rs.map((x) => x.maxRssMB)), baseRssMB: median(rs.map((x) => x.baseRssMB)) }];
      }),
    ),
  ) as Record<`${Side}_${Mode}`, { secondsPerStep: number; phases: Record<Phase, number>; peakRssMB: number; baseRssMB: number }>;
  const c = SIZES[size];
  console.log(`PPO-Lagrangian step, GPT-2 ${size} (d ${c.n_embd}, ${c.n_layer} layers, vocab ${c.vocab_size}); ${B} prompts of ${PROMPT} tokens, ${NEW} new tokens; ${threads} threads`);
  console.log(`${rounds} runs per side and mode, ${steps} timed steps each (after one warm-up step); LoRA: r ${LORA.r}, alpha ${LORA.alpha}, dropout ${LORA.dropout} on c_attn of actor and critics`);
  console.log(`${''.padEnd(6)} ${'s/step ours'.padStart(12)} ${'PyTorch'.padStart(9)} ${'ratio'.padStart(7)}   ${'peak RSS MB ours'.padStart(17)} ${'PyTorch'.padStart(9)} ${'ratio'.padStart(7)}`);
  for (const mode of MODES) {
    const [o, t] = [figures[`ours_${mode}`], figures[`torch_${mode}`]];
    console.log(
      `${mode.padEnd(6)} ${o.secondsPerStep.toFixed(3).padStart(12)} ${t.secondsPerStep.toFixed(3).padStart(9)} ${(o.secondsPerStep / t.secondsPerStep).toFixed(2).padStart(6)}x   ${o.peakRssMB.toFixed(0).padStart(17)} ${t.peakRssMB.toFixed(0).padStart(9)} ${(o.peakRssMB / t.peakRssMB).toFixed(2).padStart(6)}x`,
    );
  }
  console.log(`per phase, s (median): ${PHASES.join(', ')} — ours / PyTorch`);
  for (const mode of MODES) {
    const [o, t] = [figures[`ours_${mode}`].phases, figures[`torch_${mode}`].phases];
    console.log(`${mode.padEnd(6)} ${PHASES.map((p) => `${p} ${o[p].toFixed(3)} / ${t[p].toFixed(3)} (${(o[p] / t[p]).toFixed(2)}x)`).join('   ')}`);
  }
  const base = (side: Side) => figures[`${side}_${MODES[0] as Mode}`].baseRssMB.toFixed(0);
  console.log(`runtime alone (engine loaded, no model): ours ${base('ours')} MB (Node, tsx, libtorch), PyTorch ${base('torch')} MB (Python, torch); included in the peaks`);
  if (args.includes('--json')) console.log(JSON.stringify({ size, threads, steps, rounds, ...figures }));
}

const workerMode = args.includes('--worker') ? (opt('--worker', 'full') as Mode) : null;
if (workerMode) worker(workerMode);
else await main();
