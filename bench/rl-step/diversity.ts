// What the per-step diversity log adds to an RL step: PPO-Lagrangian steps on a pipeline run's SFT policy, reward and cost models (rl defaults of the pipeline: 64 prompts, 44 new tokens), each followed by the diversity metrics of its rollouts, timed apart.
//
// Run: npx tsx bench/rl-step/diversity.ts --run runs/<name> [--threads 2] [--steps 6]
// Prints the median step time (generation + scoring + update), and the median time of the text metrics
// (distinct-1/2, self-BLEU, ROUGE-L: every step) and of the embedding diversity (every rl.embeddingDiversityEvery steps).
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodePrompt } from '../../src/algorithms/common/batching.js';
import { LagrangeSchema } from '../../src/algorithms/ppo-lag/config.js';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { createRlContext } from '../../src/algorithms/rl/context.js';
import { sampleRollout } from '../../src/algorithms/rl/rollout.js';
import { rlStep } from '../../src/algorithms/rl/step.js';
import { diversityMetrics, rolloutTexts } from '../../src/algorithms/rl/step-log.js';
import { readPrompts } from '../../src/data/prompts.js';
import { loadPretrained, ScoreModel, type CausalLM } from '../../src/models/index.js';
import { manualSeed, setNumThreads, tidy } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback?: string): string => {
  const i = args.indexOf(name);
  const v = i >= 0 ? args[i + 1] : fallback;
  if (v === undefined) throw new Error(`${name} is required (see the header of bench/rl-step/diversity.ts)`);
  return v;
};
setNumThreads(Number(opt('--threads', '2')));
const steps = Number(opt('--steps', '6'));
const run = opt('--run');
const sft = loadPretrained(join(run, 'sft', 'model'));
const tokenizer = sft.tokenizer;
if (!tokenizer) throw new Error(`${run}/sft/model has no tokenizer.json`);
const actor = sft.model as CausalLM;
const reference = loadPretrained(join(run, 'sft', 'model')).model as CausalLM;
const rewardModel = loadPretrained(join(run, 'reward', 'model')).model as ScoreModel;
const costModel = loadPretrained(join(run, 'cost', 'model')).model as ScoreModel;
const critics = { reward: ScoreModel.fromScoreModel(rewardModel, 'critic'), cost: ScoreModel.fromScoreModel(costModel, 'critic') };
const config = RlConfigSchema.parse({ promptsPerStep: 64 });
const method = ppoLagMethod({ klCoef: 0.01, scoreClip: 50, lagrange: { ...LagrangeSchema.parse({}), threshold: 0 } });
const ctx = createRlContext(method, { actor, reference, rewardModel, costModel, critics }, config, [], 0);
const all = readPrompts(join(run, 'world', 'prompts-train.jsonl')).prompts.map((p) => encodePrompt(tokenizer, { prompt: p.prompt }));
const tokens = { padId: tokenizer.padId ?? 0, eosId: tokenizer.eosId };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const seconds = (t: number) => (performance.now() - t) / 1000;
const times = { step: [] as number[], text: [] as number[], embed: [] as number[] };
for (let i = 0; i <= steps; i++) {
  manualSeed(i);
  const rng = new Rng(0).derive(`step-${i}`);
  tidy(() => {
    let t = performance.now();
    const prompts = Array.from({ length: config.promptsPerStep }, () => all[rng.int(all.length)] as number[]);
    const rollout = sampleRollout(actor, prompts, config, tokens);
    rlStep(ctx, rollout, i + 1, rng.derive('ptx'));
    const step = seconds(t);
    t = performance.now();
    const texts = rolloutTexts(tokenizer, rollout);
    diversityMetrics(texts, config.diversitySample);
    const text = seconds(t);
    t = performance.now();
    diversityMetrics(texts, 0, { model: reference, tokenizer });
    if (i === 0) return; // warm-up
    times.step.push(step);
    times.text.push(text);
    times.embed.push(seconds(t));
  });
}
const [s, x, e] = [median(times.step), median(times.text), median(times.embed)];
console.log(`PPO-Lag step (${config.promptsPerStep} rollouts, ≤ ${config.maxNewTokens} new tokens), medians of ${steps}: step ${s.toFixed(3)} s`);
console.log(`text diversity (decode + distinct-1/2 + self-BLEU + ROUGE-L over ${config.diversitySample}) ${x.toFixed(4)} s = ${((100 * x) / s).toFixed(2)}% of a step`);
console.log(`embedding diversity (reference forward over the responses) ${e.toFixed(4)} s = ${((100 * e) / s).toFixed(2)}% of a step, ${((100 * e) / s / config.embeddingDiversityEvery).toFixed(2)}% averaged at every ${config.embeddingDiversityEvery} steps`);
