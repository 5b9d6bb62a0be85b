// RL step time of the critic-free methods (GRPO, safe GRPO, RLOO-Lagrangian) against PPO-Lagrangian at equal responses per step.
//
// Method: the SFT, reward and cost models of a finished pipeline run (`--run runs/<name>`), its train prompts.
// Every method starts from the SFT policy and runs `--steps` RL steps of `--responses` responses (PPO-Lag:
// that many prompts, one sample each; the critic-free ones: responses / G prompts, G samples each). Methods take
// turns in blocks, the order flipping every block, so that all see the same machine; the first step of each
// run is a warm-up and not counted. Reports the median step time per method, its ratio to PPO-Lagrangian and the
// mean response length (generation and every forward pass scale with it, and methods drift to different lengths).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpoSchema } from '../../src/algorithms/grpo/config.js';
import { grpoMethod, safeGrpoMethod } from '../../src/algorithms/grpo/method.js';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { criticStreams, type RlMethod } from '../../src/algorithms/rl/method.js';
import { trainRl } from '../../src/algorithms/rl/train.js';
import { rlooLagMethod } from '../../src/algorithms/rloo-lag/method.js';
import { CausalLM, loadPretrained, ScoreModel, Tokenizer } from '../../src/models/index.js';
import { readTrainingData } from '../../src/pipeline/training-data.js';
import { DEFAULT_LAGRANGE } from '../../src/rl/index.js';
import { setNumThreads } from '../../src/torch/index.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
if (args.includes('--help') || !args.includes('--run')) {
  console.log(`npx tsx bench/rl-methods/run.ts --run runs/<name> [--steps N (4)] [--blocks N (2)] [--responses N (64)] [--G N (4)] [--max-new-tokens N (44)] [--threads N (2)] [--json]
Median RL step time of ppo_lag, grpo, safe_grpo and rloo_lag on a pipeline run's SFT, reward and cost models, at
equal responses per step, and each one's ratio to ppo_lag.`);
  process.exit(args.includes('--help') ? 0 : 1);
}
const runDir = opt('--run', '');
const steps = Number(opt('--steps', '4'));
const blocks = Number(opt('--blocks', '2'));
const responses = Number(opt('--responses', '64'));
const G = Number(opt('--G', '4'));
const maxNewTokens = Number(opt('--max-new-tokens', '44'));
setNumThreads(Number(opt('--threads', '2')));

const tokenizer = Tokenizer.fromDir(join(runDir, 'tokenizer'));
const lm = () => loadPretrained(join(runDir, 'sft', 'model')).model as CausalLM;
const score = (k: 'reward' | 'cost') => loadPretrained(join(runDir, k, 'model')).model as ScoreModel;
const rewardModel = score('reward');
const costModel = score('cost');
const prompts = (await readTrainingData(join(runDir, 'world'))).prompts;
const lagrange = { ...DEFAULT_LAGRANGE, threshold: 0 };
const METHODS: Record<string, () => RlMethod> = {
  ppo_lag: () => ppoLagMethod({ klCoef: 0.05, scoreClip: 50, lagrange }),
  grpo: () => grpoMethod({ ...GrpoSchema.parse({ klCoef: 0.05, costWeight: 0, scaleRewards: 'group' }), scoreClip: 50 }),
  safe_grpo: () => safeGrpoMethod({ klCoef: 0.05, scaleRewards: 'group', scoreClip: 50, lagrange }),
  rloo_lag: () => rlooLagMethod({ klCoef: 0.05, scoreClip: 50, lagrange }),
};

/** Step durations (s) and mean response lengths (tokens) of one run of `name`, warm-up step dropped. */
function timeRun(name: string): { sec: number[]; length: number[] } {
  const method = (METHODS[name] as () => RlMethod)();
  const critics = Object.fromEntries(criticStreams(method).map((s) => [s, ScoreModel.fromScoreModel(s === 'reward' ? rewardModel : costModel, 'critic')]));
  const grouped = !method.estimator.usesCritic;
  const config = RlConfigSchema.parse({
    steps,
    promptsPerStep: grouped ? responses / G : responses,
    samplesPerPrompt: grouped ? G : 1,
    miniBatchSize: 32,
    maxNewTokens,
    checkpointEvery: 1_000_000,
  });
  const marks: number[] = [];
  const outDir = mkdtempSync(join(tmpdir(), 'bench-rl-'));
  try {
    const { log } = trainRl({
      method,
      models: { actor: lm(), reference: lm(), rewardModel, costModel, critics },
      tokenizer,
      prompts,
      config,
      outDir,
      progress: { start: () => marks.push(performance.now()), update: (done) => (done > 0 ? marks.push(performance.now()) : undefined), stop() {}, log() {} },
    });
    return { sec: marks.slice(1).map((t, i) => (t - (marks[i] as number)) / 1000).slice(1), length: log.slice(1).map((r) => r.responseLength) };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const names = Object.keys(METHODS);
const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const lengths: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let b = 0; b < blocks; b++) {
  for (const n of b % 2 === 0 ? names : [...names].reverse()) {
    const r = timeRun(n);
    (times[n] as number[]).push(...r.sec);
    (lengths[n] as number[]).push(...r.length);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const base = median(times.ppo_lag as number[]);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rows = names.map((n) => ({
  method: n,
  medianStepSec: median(times[n] as number[]),
  ratioToPpoLag: median(times[n] as number[]) / base,
  meanResponseLength: mean(lengths[n] as number[]),
  steps: (times[n] as number[]).length,
}));
for (const r of rows) {
  console.log(`${r.method.padEnd(10)} ${r.medianStepSec.toFixed(3)} s/step  ×${r.ratioToPpoLag.toFixed(2)} of ppo_lag  (${r.steps} timed steps, mean response ${r.meanResponseLength.toFixed(1)} tokens)`);
}
if (args.includes('--json')) console.log(JSON.stringify({ responses, G, maxNewTokens, rows }));
