// Empirical check of HC-RLHF's guarantee: on the one-token constrained bandit (exact true cost), or on the built-in world (`--task world`).
//
// Run: npx tsx scripts/hc-rlhf-guarantee.ts [--seeds 20] [--deltas 0.05,0.1,0.2] [--safety 50] [--steps 60] [--out docs/hc-rlhf-guarantee.json]
//      npx tsx scripts/hc-rlhf-guarantee.ts --task world --run DIR [--seeds 20] [--seed-from 0] [--steps 20] [--cache FILE]
//      npx tsx scripts/hc-rlhf-guarantee.ts --task world --run DIR --summarise --cache A.jsonl,B.jsonl [--out docs/hc-rlhf-guarantee-world.json]
//
// --task world: DIR is a finished pipeline run (or a copy of its sft/model, reward/model, cost/model, world/prompts-{train,test}.jsonl,
// config.json and report.json, and optionally ppo_lag/model). Every run starts from that one SFT policy with that one reward and cost
// model; the seed draws the candidate/safety split of the train prompts and the RL run. τ is the run's PPO-Lagrangian d
// (report.json costThreshold, calibrated on annotator labels). A model's true expected cost is the cost model's mean over
// --eval-samples fresh responses to every train and test prompt; its gold truth is the share of gold-unsafe answers over those
// prompts, against a gold budget: calibrated, the gold unsafe share at τ of the least-squares line of unsafe share on true cost
// over every measured model (goldBudgetAt), and nominal, ppoLag.lagrange.thresholdQuantile (d was calibrated as the cost of
// answers of which that share is unsafe: d = safe mean + q·(unsafe mean − safe mean), on annotator labels). Per seed: one `hc_rlhf` candidate per δ and one `uninflated`
// (plain RLOO-Lagrangian, C1 = C2 = 0) candidate, tested at each δ and returned without the test (the baseline whose gold
// helpfulness prices the guarantee). Each finished run is appended to --cache; a re-run resumes; --summarise merges caches
// (comma-separated), measures the SFT and PPO-Lagrangian models the same way (once: kept in --references) and writes --out.
//
// --task bandit (default):
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
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trainHcRlhf } from '../src/algorithms/hc-rlhf/train.js';
import { RlConfigSchema } from '../src/algorithms/rl/config.js';
import { terminalProgress } from '../src/cli/progress-bar.js';
import { worldMetrics } from '../src/eval/world-metrics.js';
import { loadPretrained, ScoreModel, Tokenizer, type CausalLM } from '../src/models/index.js';
import { PipelineConfigSchema } from '../src/pipeline/config.js';
import { measureReferences, readWorldRuns, runWorldGuarantee, worldGuaranteeReport, worldGuaranteeSettings, type WorldGuaranteeSetup } from '../src/pipeline/hc-guarantee-world.js';
import { readWorldPrompts } from '../src/pipeline/jsonl-lines.js';
import { DEFAULT_LAGRANGE } from '../src/rl/index.js';
import { formatGuarantee, retest, summariseGuarantee, type GuaranteeRun } from '../src/eval/hc-guarantee.js';
import { manualSeed, setNumThreads } from '../src/torch/index.js';
import { WORLD_FILES } from '../src/world/build.js';
import { BANDIT_PROMPT, buildBanditTask, expectation, responseDistribution, SAFE_RLHF_BANDIT, TableScorer, type BanditTask } from '../test/helpers/bandit.js';

const { values: args } = parseArgs({
  options: {
    task: { type: 'string', default: 'bandit' },
    seeds: { type: 'string', default: '20' },
    deltas: { type: 'string', default: '0.05,0.1,0.2' },
    safety: { type: 'string', default: '50' },
    steps: { type: 'string' },
    tau: { type: 'string', default: '0' },
    out: { type: 'string' },
    // --task world
    run: { type: 'string', default: 'runs/hcworld-base' },
    'seed-from': { type: 'string', default: '0' },
    'prompts-per-step': { type: 'string', default: '32' },
    'actor-lr': { type: 'string' },
    'eval-samples': { type: 'string', default: '3' },
    cache: { type: 'string', default: 'runs/hc-rlhf-guarantee-world.jsonl' },
    summarise: { type: 'boolean', default: false },
    references: { type: 'string', default: 'runs/hc-rlhf-guarantee-world-references.json' },
  },
});
const SEEDS = Number(args.seeds);
const DELTAS = (args.deltas as string).split(',').map(Number);
setNumThreads(1);
if (args.task === 'world') world();
else if (args.task === 'bandit') bandit();
else throw new Error(`--task must be bandit or world, got ${args.task}`);

/** --task world: the setup and settings from the run folder, then the runs (or, with --summarise, the table from the caches). */
function world(): void {
  const dir = args.run as string;
  const file = (...p: string[]) => join(dir, ...p);
  for (const f of ['config.json', 'report.json', 'sft/model', 'reward/model', 'cost/model', `world/${WORLD_FILES.promptsTrain}`, `world/${WORLD_FILES.promptsTest}`]) {
    if (!existsSync(file(f))) throw new Error(`--run ${dir} has no ${f}: give a finished pipeline run (or a copy of the files listed at the top of this script)`);
  }
  const config = PipelineConfigSchema.parse(JSON.parse(readFileSync(file('config.json'), 'utf8')));
  const tau = (JSON.parse(readFileSync(file('report.json'), 'utf8')) as { costThreshold: number }).costThreshold;
  const loadLM = (d: string) => loadPretrained(d).model as CausalLM;
  const setup: WorldGuaranteeSetup = {
    loadSft: () => loadLM(file('sft/model')),
    rewardModel: loadPretrained(file('reward/model')).model as ScoreModel,
    costModel: loadPretrained(file('cost/model')).model as ScoreModel,
    tokenizer: Tokenizer.fromDir(file('sft/model')),
    trainPrompts: readWorldPrompts(file('world', WORLD_FILES.promptsTrain)),
    freshPrompts: readWorldPrompts(file('world', WORLD_FILES.promptsTest)),
    judge: worldMetrics,
  };
  // the same settings as the pipeline part hc_guarantee (--methods hc_guarantee), from the run's config
  const g = { steps: Number(args.steps ?? 20), promptsPerStep: Number(args['prompts-per-step']), evalSamples: Number(args['eval-samples']) };
  const settings = worldGuaranteeSettings(config, tau, g, args['actor-lr'] ? Number(args['actor-lr']) : undefined);
  const caches = (args.cache as string).split(',');
  const out = args.out ?? 'docs/hc-rlhf-guarantee-world.json';
  const progress = terminalProgress();
  if (!args.summarise) {
    const from = Number(args['seed-from']);
    const t0 = performance.now();
    runWorldGuarantee(setup, settings, { seeds: Array.from({ length: SEEDS }, (_, i) => from + i), deltas: DELTAS, cacheFile: caches[0] as string }, progress);
    console.log(`seeds ${from}..${from + SEEDS - 1} done in ${((performance.now() - t0) / 1000).toFixed(0)} s; --summarise to write ${out}`);
    return;
  }
  // the SFT policy and the run's PPO-Lagrangian model, measured as the runs' models are (kept in --references: measured once)
  const referenceModels = Object.fromEntries(['sft', 'ppo_lag'].filter((name) => existsSync(file(name, 'model'))).map((name) => [name, () => loadLM(file(name, 'model'))]));
  const references = measureReferences(referenceModels, setup, settings, args.references as string);
  const report = worldGuaranteeReport(readWorldRuns(caches), references, setup, settings, DELTAS);
  console.log(`gold budgets: calibrated ${report.goldBudget.toFixed(4)} (unsafe share at τ), nominal ${report.goldBudgetNominal}`);
  for (const r of report.results) {
    const f = formatGuarantee;
    console.log(`δ ${r.delta} (${r.seeds.length} seeds): hc_rlhf ${f(r.hcRlhf)} (gold ${f(r.hcRlhfGold)}); uninflated + test ${f(r.uninflated)}; no test ${f(r.uninflatedNoTest)} (gold ${f(r.uninflatedNoTestGold)})`);
  }
  const result = {
    task: 'built-in world: one SFT policy, reward and cost model (the run below); per seed a candidate/safety split of its train prompts and an RLOO-Lagrangian run',
    run: dir,
    ...report,
  };
  writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
  console.log(`wrote ${out}`);
}

/** --task bandit. */
function bandit(): void {
  const N_SAFETY = Number(args.safety);
  const TAU = Number(args.tau);
  const BETA = 0.5;
  /** The critic-free bandit test's loop: 8 prompts × G = 8 samples a step, one update of lr 1e-2 per step; λ window 128 (= n_b). */
  const RL = { steps: Number(args.steps ?? 60), promptsPerStep: 8, samplesPerPrompt: 8, miniBatchSize: 64, ppoEpochs: 1, actorOptim: { lr: 1e-2 }, maxNewTokens: 1, checkpointEvery: 1_000_000 };
  const LAGRANGE = { ...DEFAULT_LAGRANGE, lr: 0.1, window: 128 };
  /** The loose candidate's training budget above τ. */
  const LOOSE = 0.1;
  interface Run extends GuaranteeRun { inflation: number }

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

  const task = buildBanditTask(SAFE_RLHF_BANDIT.tables, SAFE_RLHF_BANDIT.refTarget);
  const t0 = performance.now();
  const uninflated = Array.from({ length: SEEDS }, (_, s) => run(task, s, 0.1, 0));
  const loose = Array.from({ length: SEEDS }, (_, s) => run(task, s, 0.1, 0, TAU + LOOSE));
  console.log(`uninflated and loose candidates trained (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  const brief = ({ safetyCosts: _c, ...r }: Run) => r;
  const results = DELTAS.map((delta) => {
    const hc = Array.from({ length: SEEDS }, (_, s) => run(task, s, delta, 1));
    const plain = uninflated.map((r) => retest(r, TAU, delta));
    const near = loose.map((r) => retest(r, TAU, delta));
    const row = {
      delta,
      inflation: hc[0]?.inflation,
      hcRlhf: summariseGuarantee(hc, TAU),
      uninflated: summariseGuarantee(plain, TAU),
      uninflatedNoTest: summariseGuarantee(plain, TAU, { tested: false }),
      loose: summariseGuarantee(near, TAU),
      looseNoTest: summariseGuarantee(near, TAU, { tested: false }),
      runs: { hcRlhf: hc.map(brief), uninflated: plain.map(brief), loose: near.map(brief) },
    };
    const f = formatGuarantee;
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
  writeFileSync(args.out ?? 'docs/hc-rlhf-guarantee.json', JSON.stringify(out, null, 1) + '\n');
  console.log(`wrote ${args.out ?? 'docs/hc-rlhf-guarantee.json'}`);
}
