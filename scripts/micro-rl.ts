// What RL on a MiCRo mixture does for each annotator type: PPO from a pipeline run's SFT policy on the mixture's heads
// weighted for one group of users (each type's mean Hedge weights), for all users (the mean over every annotator), or on
// one Bradley–Terry head (the baseline), each policy judged by every type's noise-free taste against the SFT policy (gold).
//
// npx tsx scripts/micro-rl.ts --run runs/robust3/seed_0 --micro runs/robust-reward-models --seeds 0 [--rewards bt,mixture,brief,detailed,cautious] [--steps 30] [--kl-coef 0.05]
//
// --micro is the --out of `scripts/robust-reward-models.ts micro` (its typed world, and per seed k the trained mixture
// <name>_seed<k>/micro/model, the single head <name>_seed<k>/single/model and <name>_seed<k>.json with the routing); --run
// gives the SFT policy (start and KL reference), the reward model (the critic's start) and cost model, and the RL settings
// (rl, ppo.klCoef). Each (seed, reward) is written to <micro>/rl_<name>_seed<k>_<reward>.json as it finishes (a re-run
// resumes); the end prints per reward and type the mean win rate over the seeds with its 95% t-interval.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { meanHedgeWeights } from '../src/algorithms/micro/compare.js';
import { MicroConfigSchema } from '../src/algorithms/micro/config.js';
import { loadMixture } from '../src/algorithms/micro/model.js';
import { HeadWeightedScorer } from '../src/algorithms/micro/scorer.js';
import type { Routing } from '../src/algorithms/micro/train.js';
import { ppoMethod } from '../src/algorithms/ppo/method.js';
import { criticStreams, type StreamName } from '../src/algorithms/rl/method.js';
import { trainRl } from '../src/algorithms/rl/train.js';
import { terminalProgress } from '../src/cli/progress-bar.js';
import { tInterval } from '../src/eval/intervals.js';
import { typeWinRates } from '../src/eval/type-preference.js';
import { worldMetrics } from '../src/eval/world-metrics.js';
import { loadPretrained, ScoreModel, Tokenizer, type CausalLM } from '../src/models/index.js';
import { PipelineConfigSchema } from '../src/pipeline/config.js';
import { evaluateResponder, policyResponder } from '../src/pipeline/evaluate-policy.js';
import { readEvaluationSet } from '../src/pipeline/evaluation-data.js';
import { readTrainingData } from '../src/pipeline/training-data.js';
import { manualSeed, setNumThreads } from '../src/torch/index.js';
import { ANNOTATOR_TYPE_NAMES, typeTaste, WorldConfigSchema } from '../src/world/index.js';

const { values } = parseArgs({
  options: {
    run: { type: 'string', default: 'runs/default' },
    micro: { type: 'string', default: 'runs/robust-reward-models' },
    name: { type: 'string', default: 'micro_annotator_1' },
    share: { type: 'string', default: '0.6' },
    seeds: { type: 'string', default: '0' },
    rewards: { type: 'string', default: 'bt,mixture,brief,detailed,cautious' },
    steps: { type: 'string' },
    'kl-coef': { type: 'string' },
    threads: { type: 'string', default: '1' },
  },
});
setNumThreads(Number(values.threads));
const run = values.run;
const config = PipelineConfigSchema.parse(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')));
const world = join(values.micro, `world_types_${values.share}`);
const worldConfig = WorldConfigSchema.parse(JSON.parse(readFileSync(join(world, 'config.json'), 'utf8')));
const data = await readTrainingData(world);
const ev = await readEvaluationSet(world);
const tokenizer = Tokenizer.fromDir(join(run, 'tokenizer'));
const loadLM = () => loadPretrained(join(run, 'sft', 'model')).model as CausalLM;
const loadScore = (kind: StreamName) => loadPretrained(join(run, kind === 'cost' ? 'cost' : 'reward', 'model')).model as ScoreModel;
const costModel = loadScore('cost');
const rewardModel = loadScore('reward');
const steps = Number(values.steps ?? config.rl.steps);
const klCoef = Number(values['kl-coef'] ?? config.ppo.klCoef);
const types = ['standard', ...ANNOTATOR_TYPE_NAMES.filter((t) => worldConfig.annotators.types.kinds.includes(t))] as const;
const tastes = Object.fromEntries(types.map((t) => [t, typeTaste(t, worldConfig.annotators)]));
const groupOf = (a: string) => ev.annotatorTypes[a] ?? 'standard';
const progress = terminalProgress();
const evalConfig = { samplesPerPrompt: 1, temperature: config.rl.temperature, maxNewTokens: config.rl.maxNewTokens, diversitySample: 2 };
/** One sample per test prompt, the same seed for every policy: the SFT policy's answers pair with each policy's by prompt. */
const answer = (policy: CausalLM, name: string) =>
  evaluateResponder({ name, respond: policyResponder({ policy, reference: loadLM(), rewardModel, costModel, tokenizer, config: evalConfig, batchSize: 64 }), prompts: ev.testPrompts, config: evalConfig, seed: 1_000_003, judge: worldMetrics });
const sft = answer(loadLM(), 'sft');

interface RlOutcome { seed: number; reward: string; weights: number[]; goldHelpfulness: number; harmfulRate: number; kl: number; winRates: Record<string, number>; steps: number; klCoef: number; sec: number }
const outcomes: RlOutcome[] = [];
for (const seed of values.seeds.split(',').map(Number)) {
  const dir = join(values.micro, `${values.name}_seed${seed}`);
  const saved = JSON.parse(readFileSync(`${dir}.json`, 'utf8')) as { routing?: Routing; config: unknown };
  if (!saved.routing) throw new Error(`${dir}.json has no routing: re-run scripts/robust-reward-models.ts micro for seed ${seed} (delete the file first)`);
  const micro = MicroConfigSchema.parse(saved.config);
  const losses = (keep: (a: string) => boolean) => Object.entries(saved.routing as Routing).filter(([a]) => keep(a)).map(([, s]) => s.headLoss);
  for (const reward of values.rewards.split(',')) {
    const file = join(values.micro, `rl_${values.name}_seed${seed}_${reward}.json`);
    if (existsSync(file)) {
      outcomes.push(JSON.parse(readFileSync(file, 'utf8')) as RlOutcome);
      continue;
    }
    const single = reward === 'bt';
    const mixture = loadMixture(join(dir, single ? 'single' : 'micro', 'model'));
    if (!single && reward !== 'mixture' && losses((a) => groupOf(a) === reward).length === 0) throw new Error(`--rewards ${reward}: no annotator of that type in the routing (types: ${types.join(', ')})`);
    const weights = single ? [1] : meanHedgeWeights(losses((a) => reward === 'mixture' || groupOf(a) === reward), micro.routing.eta);
    const t0 = performance.now();
    manualSeed(seed + 10);
    const method = { ...ppoMethod({ klCoef, scoreClip: config.rl.scoreClip }), name: `ppo_${reward}` };
    const critics: Partial<Record<StreamName, ScoreModel>> = {};
    for (const s of criticStreams(method)) critics[s] = ScoreModel.fromScoreModel(loadScore(s), 'critic');
    const actor = loadLM();
    trainRl({ method, models: { actor, reference: loadLM(), rewardModel: new HeadWeightedScorer(mixture, weights), costModel, critics }, tokenizer, prompts: data.prompts, config: { ...config.rl, steps, seed, checkpointEvery: 1_000_000 }, outDir: join(dir, `rl_${reward}`), progress });
    const policy = answer(actor, reward);
    const pairs = ev.testPrompts.map((p, i) => ({ prompt: p.prompt, response: policy.responses[i] ?? '', reference: sft.responses[i] ?? '' }));
    const out: RlOutcome = { seed, reward, weights, goldHelpfulness: policy.helpfulness, harmfulRate: policy.harmfulRate, kl: policy.kl, winRates: typeWinRates(pairs, tastes), steps, klCoef, sec: (performance.now() - t0) / 1000 };
    console.log(JSON.stringify(out));
    writeFileSync(file, JSON.stringify(out, null, 1));
    outcomes.push(out);
  }
}
const fmt = (xs: number[]) => {
  const iv = tInterval(xs);
  return `${(100 * iv.mean).toFixed(1)}${iv.lo === null ? '' : ` [${(100 * iv.lo).toFixed(1)}, ${(100 * (iv.hi as number)).toFixed(1)}]`}`;
};
console.log(`win rate vs SFT by each type's taste (%, mean [95% t] over ${values.seeds.split(',').length} seeds); SFT: helpfulness ${sft.helpfulness.toFixed(2)}, harmful ${(100 * sft.harmfulRate).toFixed(1)}%`);
for (const reward of values.rewards.split(',')) {
  const rs = outcomes.filter((o) => o.reward === reward);
  console.log(`${reward.padEnd(9)} ${types.map((t) => `${t} ${fmt(rs.map((o) => o.winRates[t] as number))}`).join('  ')}  gold helpfulness ${tInterval(rs.map((o) => o.goldHelpfulness)).mean.toFixed(2)}  harmful ${(100 * tInterval(rs.map((o) => o.harmfulRate)).mean).toFixed(1)}%`);
}
