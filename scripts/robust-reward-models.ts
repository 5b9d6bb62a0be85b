// MiCRo per annotator type and weak-to-strong PGR on a finished pipeline run's SFT model and tokenizer (the numbers in the README).
// npx tsx scripts/robust-reward-models.ts w2s --run runs/default --seeds 0,1,2
// npx tsx scripts/robust-reward-models.ts micro --run runs/default --share 0.6 --epochs 1 --heads 4 [--likelihood annotator|pair] [--seeds 0,1,2 --runs R0,R1,R2]
// micro over seeds: replicate k trains with micro.seed = seeds[k] on runs[k]'s SFT backbone (one file per seed, resumable), then the mean and 95% t-interval per type.
// The run's world is rebuilt with annotator types (micro) in <out>; its SFT policy is the backbone (micro) and the strong model (w2s).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { aggregateByGroup, compareByGroup, routedWeights, trainMicroAndBaseline } from '../src/algorithms/micro/compare.js';
import { MicroConfigSchema } from '../src/algorithms/micro/config.js';
import { ScoreConfigSchema } from '../src/algorithms/score/config.js';
import { evaluateScoreModel } from '../src/algorithms/score/train.js';
import { SftConfigSchema } from '../src/algorithms/sft/config.js';
import { trainSft } from '../src/algorithms/sft/train.js';
import { WeakLabelTrainingSchema } from '../src/algorithms/weak-to-strong/config.js';
import { runWeakToStrong } from '../src/algorithms/weak-to-strong/experiment.js';
import type { Progress } from '../src/core/progress.js';
import { createCausalLM, loadPretrained, parseModelConfig, savePretrained, Tokenizer, type CausalLM } from '../src/models/index.js';
import { readEvaluationSet } from '../src/pipeline/evaluation-data.js';
import { readTrainingData } from '../src/pipeline/training-data.js';
import { manualSeed, setNumThreads } from '../src/torch/index.js';
import { buildWorld } from '../src/world/index.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    run: { type: 'string', default: 'runs/default' },
    // micro: one run folder per seed (its SFT model is that replicate's backbone); default: --run for every seed
    runs: { type: 'string' },
    out: { type: 'string', default: 'runs/robust-reward-models' },
    seeds: { type: 'string', default: '0,1,2' },
    share: { type: 'string', default: '0.6' },
    epochs: { type: 'string', default: '1' },
    heads: { type: 'string', default: '4' },
    likelihood: { type: 'string', default: 'annotator' },
    threads: { type: 'string', default: '1' },
  },
});
setNumThreads(Number(values.threads));
const progress: Progress = { start: () => undefined, update: () => undefined, stop: () => undefined, log: (m: string) => console.log(m) };
const run = values.run;
const tokenizer = Tokenizer.fromDir(join(run, 'tokenizer'));
const sft = () => loadPretrained(join(run, 'sft', 'model')).model as CausalLM;
mkdirSync(values.out, { recursive: true });

if (positionals[0] === 'w2s') {
  const data = await readTrainingData(join(run, 'world'));
  const ev = await readEvaluationSet(join(run, 'world'));
  const weakDir = join(values.out, 'weak_sft', 'model');
  if (!existsSync(join(weakDir, 'config.json'))) {
    manualSeed(0);
    const lm = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 1, n_head: 2, n_positions: 96, vocab_size: tokenizer.vocabSize, tie_word_embeddings: true, eos_token_id: tokenizer.eosId ?? null, pad_token_id: tokenizer.padId ?? null }));
    trainSft({ model: lm, tokenizer, train: data.sftTrain, test: [], config: SftConfigSchema.parse({ epochs: 2 }), outDir: join(values.out, 'weak_sft'), progress });
    savePretrained(weakDir, lm, { tokenizer });
  }
  for (const seed of values.seeds.split(',').map(Number)) {
    const score = ScoreConfigSchema.parse({ seed });
    const r = runWeakToStrong({
      weakBackbone: () => loadPretrained(weakDir).model as CausalLM,
      strongBackbone: sft,
      tokenizer,
      pairs: data.pairs,
      weakScore: score,
      training: WeakLabelTrainingSchema.parse({ score }),
      seed,
      outDir: join(values.out, `w2s_${seed}`),
      progress,
      judge: (m) => evaluateScoreModel('reward', m, tokenizer, ev.goldPairs).accuracy,
    });
    console.log(`seed ${seed}: ${JSON.stringify(r)}`);
    writeFileSync(join(values.out, `w2s_${seed}.json`), JSON.stringify(r, null, 1));
  }
} else if (positionals[0] === 'micro') {
  // one replicate per seed: micro.seed = seed, and the backbone of the seed's run (--runs, one per seed; default --run for all)
  const runDirs = values.runs ? values.runs.split(',') : [run];
  const seeds = values.seeds.split(',').map(Number);
  if (runDirs.length !== 1 && runDirs.length !== seeds.length) throw new Error(`--runs gives ${runDirs.length} runs for ${seeds.length} seeds: give one run, or one per seed`);
  const world = join(values.out, `world_types_${values.share}`);
  const worldSeed = (JSON.parse(readFileSync(join(run, 'world', 'config.json'), 'utf8')) as { seed: number }).seed;
  if (!existsSync(join(world, 'summary.json'))) buildWorld({ seed: worldSeed, annotators: { types: { share: Number(values.share) } } }, world);
  const data = await readTrainingData(world);
  const ev = await readEvaluationSet(world);
  const groupOf = (a: string) => ev.annotatorTypes[a] ?? 'standard';
  const name = `micro_${values.likelihood}_${values.epochs}`;
  const replicates = seeds.map((seed, i) => {
    const file = join(values.out, `${name}_seed${seed}.json`);
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as ReturnType<typeof compareByGroup>;
    const dir = runDirs[runDirs.length === 1 ? 0 : i] as string;
    const config = MicroConfigSchema.parse({ heads: Number(values.heads), epochs: Number(values.epochs), likelihood: values.likelihood, seed });
    const backbone = () => loadPretrained(join(dir, 'sft', 'model')).model as CausalLM;
    const tok = Tokenizer.fromDir(join(dir, 'tokenizer'));
    const t0 = performance.now();
    const trained = trainMicroAndBaseline({ backbone, tokenizer: tok, train: data.annotatorPairs, config, outDir: join(values.out, `${name}_seed${seed}`), progress });
    const r = { config, backbone: dir, ...compareByGroup(trained, tok, ev.annotatorPairs, groupOf), routedWeights: routedWeights(trained.micro.routing, config.routing.eta, groupOf), routing: trained.micro.routing, sec: (performance.now() - t0) / 1000 };
    console.log(JSON.stringify(r, null, 1));
    writeFileSync(file, JSON.stringify(r, null, 1));
    return r;
  });
  const summary = { seeds, runs: runDirs, byGroup: aggregateByGroup(replicates) };
  for (const [g, a] of Object.entries(summary.byGroup)) {
    const f = (iv: { mean: number; lo: number | null; hi: number | null }) => `${(100 * iv.mean).toFixed(1)} [${iv.lo === null ? '–' : (100 * iv.lo).toFixed(1)}, ${iv.hi === null ? '–' : (100 * iv.hi).toFixed(1)}]`;
    console.log(`${g.padEnd(10)} n ${a.n.join('/')}  MiCRo ${f(a.micro)}  router only ${f(a.microUnrouted)}  one BT ${f(a.single)}  MiCRo − BT ${f(a.microMinusSingle)}`);
  }
  writeFileSync(join(values.out, `${name}_seeds.json`), JSON.stringify(summary, null, 1));
} else {
  console.error('usage: robust-reward-models.ts w2s|micro --run RUN_DIR [...]');
  process.exitCode = 1;
}
