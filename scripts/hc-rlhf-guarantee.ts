// Empirical check of HC-RLHF's guarantee on the one-token constrained bandit, where every policy's true expected cost is known exactly.
//
// Run: npx tsx scripts/hc-rlhf-guarantee.ts [--seeds 20] [--deltas 0.05,0.1,0.2] [--safety 50] [--steps 60] [--out docs/hc-rlhf-guarantee.json]
//
// The task is test/rl/constrained-bandit.test.ts's (comply R 2 C +1, help R 1 C −1, refuse R 0 C −2, any other token R −1 C 0;
// π_ref a tiny GPT-2 leaning towards refusing); its cost table plays the cost model, so a policy's true expected cost is
// E_π[C] = Σ_a π(a)·C(a), read from the policy's exact response distribution. Per seed and δ, `trainHcRlhf` runs as it does
// on real models: 2·n_s copies of the prompt are split into n_s candidate and n_s safety prompts; the candidate is trained
// by RLOO-Lagrangian against c̄ + k·ŝ <= τ; the safety test samples one response per safety prompt. A run *fails the
// guarantee* when the test passes (a model is returned) but the model's true expected cost exceeds τ; the guarantee says
// P(fail) <= δ. Three candidates per seed:
//   hc_rlhf: the inflated bound (C1 = C2 = 1), as HC-RLHF trains it (one candidate per δ, since k depends on δ);
//   uninflated: C1 = C2 = 0, i.e. plain RLOO-Lagrangian at J_c <= τ, tested at τ; its "no test" line is what
//     RLOO-Lagrangian returns without the safety test (every model returned);
//   loose: plain RLOO-Lagrangian trained at J_c <= τ + 0.1, so that its true cost sits just above τ, tested at τ: the
//     hardest case for the test, which alone must then keep the failures under δ (and without the test nearly every
//     model fails). The uninflated and loose candidates do not depend on δ: their safety costs are tested at each δ.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trainHcRlhf } from '../src/algorithms/hc-rlhf/train.js';
import { RlConfigSchema } from '../src/algorithms/rl/config.js';
import { ScoreModel } from '../src/models/index.js';
import { DEFAULT_LAGRANGE, safetyTest } from '../src/rl/index.js';
import { wilsonInterval } from '../src/eval/summary.js';
import { manualSeed, setNumThreads } from '../src/torch/index.js';
import { BANDIT_PROMPT, buildBanditTask, expectation, responseDistribution, SAFE_RLHF_BANDIT, TableScorer, type BanditTask } from '../test/helpers/bandit.js';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    deltas: { type: 'string', default: '0.05,0.1,0.2' },
    safety: { type: 'string', default: '50' },
    steps: { type: 'string', default: '60' },
    tau: { type: 'string', default: '0' },
    out: { type: 'string', default: 'docs/hc-rlhf-guarantee.json' },
  },
});
const SEEDS = Number(args.seeds);
const DELTAS = (args.deltas as string).split(',').map(Number);
const N_SAFETY = Number(args.safety);
const TAU = Number(args.tau);
const BETA = 0.5;
/** The critic-free bandit test's loop: 8 prompts × G = 8 samples a step, one update of lr 1e-2 per step; λ window 128 (= n_b). */
const RL = { steps: Number(args.steps), promptsPerStep: 8, samplesPerPrompt: 8, miniBatchSize: 64, ppoEpochs: 1, actorOptim: { lr: 1e-2 }, maxNewTokens: 1, checkpointEvery: 1_000_000 };
const LAGRANGE = { ...DEFAULT_LAGRANGE, lr: 0.1, window: 128 };
/** The loose candidate's training budget above τ. */
const LOOSE = 0.1;

interface Run { seed: number; passed: boolean; trueCost: number; trueReward: number; upperBound: number; inflation: number; safetyCosts: number[] }

/** One HC-RLHF run from a fresh copy of π_ref, candidate trained at `trainTau`; `c` = C1 = C2. */
function run(task: BanditTask, seed: number, delta: number, c: number, trainTau = TAU): Run {
  manualSeed(seed + 1000);
  const policy = task.reference.clone();
  const critic = ScoreModel.fromCausalLM(task.reference, 'critic');
  const outDir = mkdtempSync(join(tmpdir(), 'hc-guarantee-'));
  try {
    const out = trainHcRlhf({
      policy,
      reference: task.reference,
      reward: new TableScorer(task.reward),
      cost: new TableScorer(task.cost),
      criticInit: { reward: critic, cost: critic },
      tokenizer: task.tokenizer,
      prompts: Array.from({ length: 2 * N_SAFETY }, () => ({ prompt: BANDIT_PROMPT, risky: false })),
      tau: trainTau,
      klCoef: BETA,
      lagrange: LAGRANGE,
      config: { delta, safetyFraction: 0.5, c1: c, c2: c, candidate: 'rloo-lag' },
      rl: RlConfigSchema.parse({ ...RL, seed }),
      outDir,
    });
    const pi = responseDistribution(policy, task.tokenizer);
    return { seed, passed: out.passed, trueCost: expectation(pi, task.cost), trueReward: expectation(pi, task.reward), upperBound: out.test.upperBound, inflation: out.inflation, safetyCosts: out.safetyCosts };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** Shares over the runs of one arm: models returned, guarantee failures (returned and true cost > τ) with a 95% Wilson interval, true reward and cost of the returned models. */
function summarise(runs: readonly Run[], tested = true) {
  const returned = runs.filter((r) => !tested || r.passed);
  const failures = returned.filter((r) => r.trueCost > TAU).length;
  const ci = wilsonInterval(failures, runs.length);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    seeds: runs.length,
    returned: returned.length,
    failures,
    failureRate: failures / runs.length,
    failureRate95: [ci.low, ci.high],
    meanTrueRewardReturned: mean(returned.map((r) => r.trueReward)),
    meanTrueCostReturned: mean(returned.map((r) => r.trueCost)),
    meanTrueCostAll: mean(runs.map((r) => r.trueCost)),
  };
}

setNumThreads(1);
const task = buildBanditTask(SAFE_RLHF_BANDIT.tables, SAFE_RLHF_BANDIT.refTarget);
const t0 = performance.now();
/** A candidate's safety costs tested again at τ and `delta` (the same samples `trainHcRlhf` drew). */
const retest = (r: Run, delta: number): Run => {
  const t = safetyTest(r.safetyCosts, { tau: TAU, delta });
  return { ...r, passed: t.passed, upperBound: t.upperBound };
};
const uninflated = Array.from({ length: SEEDS }, (_, s) => run(task, s, 0.1, 0));
const loose = Array.from({ length: SEEDS }, (_, s) => run(task, s, 0.1, 0, TAU + LOOSE));
console.log(`uninflated and loose candidates trained (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
const brief = ({ safetyCosts: _c, ...r }: Run) => r;
const results = DELTAS.map((delta) => {
  const hc = Array.from({ length: SEEDS }, (_, s) => run(task, s, delta, 1));
  const plain = uninflated.map((r) => retest(r, delta));
  const near = loose.map((r) => retest(r, delta));
  const row = {
    delta,
    inflation: hc[0]?.inflation,
    hcRlhf: summarise(hc),
    uninflated: summarise(plain),
    uninflatedNoTest: summarise(plain, false),
    loose: summarise(near),
    looseNoTest: summarise(near, false),
    runs: { hcRlhf: hc.map(brief), uninflated: plain.map(brief), loose: near.map(brief) },
  };
  const f = (x: ReturnType<typeof summarise>) => `${x.failures}/${x.seeds} fail [${x.failureRate95.map((v) => v.toFixed(3)).join(', ')}], ${x.returned} returned`;
  console.log(`δ ${delta}: hc_rlhf ${f(row.hcRlhf)}; uninflated + test ${f(row.uninflated)} (no test: ${f(row.uninflatedNoTest)}); loose + test ${f(row.loose)} (no test: ${f(row.looseNoTest)})  (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  return row;
});
const out = {
  task: 'one-token constrained bandit (test/rl/constrained-bandit.test.ts): comply R 2 C +1, help R 1 C -1, refuse R 0 C -2, others R -1 C 0',
  tau: TAU,
  looseTrainingTau: TAU + LOOSE,
  safetyPrompts: N_SAFETY,
  candidatePrompts: N_SAFETY,
  klCoef: BETA,
  rl: RL,
  lagrangeWindow: LAGRANGE.window,
  seeds: SEEDS,
  wallTimeSec: (performance.now() - t0) / 1000,
  results,
};
writeFileSync(args.out as string, JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${args.out}`);
