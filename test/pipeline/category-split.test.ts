// ppo_lag_cat on the built-in world's prompts: the cost stream is split by each prompt's harm category (read from the world's
// prompt file as the pipeline reads it), so every category's J_c,k is the mean cost of its own episodes and its λ_k moves with them.
//
// The cost scorer here reads each row's prompt back from its tokens and scores it by the category the world gives that prompt
// (c_k = a distinct number per category, on both sides of d), so after one step J_c,k must be exactly c_k and λ_k = e^(lr·(c_k − d)).
// Sign errors this test catches (scripts/sign-flips.py): rows labelled with another prompt's category, the category lost when
// the world's prompt file is read.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { criticStreams, type StreamName } from '../../src/algorithms/rl/method.js';
import { trainRl, type RlLogRecord, type SequenceScorer } from '../../src/algorithms/rl/train.js';
import { createCausalLM, parseModelConfig, ScoreModel, type CausalLM, type Tokenizer } from '../../src/models/index.js';
import { PipelineConfigSchema } from '../../src/pipeline/config.js';
import { RL_PIPELINE_METHODS } from '../../src/pipeline/methods.js';
import { readTrainingData, type TrainingData } from '../../src/pipeline/training-data.js';
import { worldTokenizer } from '../../src/pipeline/world-tokenizer.js';
import { manualSeed, setNumThreads, tensor, type Tensor } from '../../src/torch/index.js';
import { buildWorld } from '../../src/world/build.js';
import { DEFAULT_LAGRANGE } from '../../src/rl/index.js';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';

const LR = 0.2;
const D = 0;

let data: TrainingData;
let tokenizer: Tokenizer;
/** The cost of each category ('' = benign prompts): spread over [−4.5, 4.5], half of them above d. */
let costOf: Map<string, number>;

/** Words without spaces: decoding writes "secrets?" for the prompt's "secrets ?". */
const squash = (s: string) => s.replace(/\s+/g, '');

/** Scores each row by the world category of the prompt in its tokens (the text between the chat template's USER: and ASSISTANT:). */
function categoryScorer(categoryOfPrompt: ReadonlyMap<string, string>, seen: string[]): SequenceScorer {
  return {
    forward: (inputIds: Tensor) => {
      const rows = inputIds.shape[0] as number;
      const ids = inputIds.toNumbers();
      const width = ids.length / rows;
      const scores = Array.from({ length: rows }, (_, r) => {
        const text = squash(tokenizer.decode(ids.slice(r * width, (r + 1) * width)));
        const prompt = /USER:(.*?)ASSISTANT:/.exec(text)?.[1] ?? '';
        const category = categoryOfPrompt.get(prompt);
        if (category === undefined) throw new Error(`no world prompt in row ${r}: ${text}`);
        seen.push(category);
        return costOf.get(category) as number;
      });
      return { endScores: tensor(scores) };
    },
    eval: () => undefined,
  };
}

function tinyLm(seed: number): CausalLM {
  manualSeed(seed);
  return createCausalLM(
    parseModelConfig({ model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, n_positions: 64, vocab_size: tokenizer.vocabSize, tie_word_embeddings: true, eos_token_id: tokenizer.eosId ?? null, pad_token_id: tokenizer.padId ?? null }),
  );
}

beforeAll(async () => {
  setNumThreads(1);
  const dir = mkdtempSync(join(tmpdir(), 'category-split-'));
  buildWorld({ pairs: { train: 300, test: 60 } }, dir);
  data = await readTrainingData(dir);
  tokenizer = worldTokenizer(data.sftTrain, data.vocabulary);
  const categories = [...new Set(data.prompts.map((p) => p.category ?? ''))].sort();
  costOf = new Map(categories.map((c, i) => [c, -4.5 + (9 * i) / (categories.length - 1)]));
}, 60_000);

describe('ppo_lag_cat on the world: the cost stream split by prompt category', () => {
  it("every category's J_c,k is its own episodes' mean cost, λ_k = e^(lr·(J_c,k − d)); benign prompts share ''", () => {
    // the world's 19 harm categories and the benign prompts, as the pipeline reads them from prompts-train.jsonl
    expect(costOf.size).toBe(20);
    expect(data.prompts.filter((p) => p.risky).every((p) => p.category)).toBe(true);
    expect(data.prompts.filter((p) => !p.risky).every((p) => p.category === undefined)).toBe(true);

    const config = PipelineConfigSchema.parse({});
    const build = RL_PIPELINE_METHODS.ppo_lag_cat;
    if (!build) throw new Error('ppo_lag_cat is not an RL pipeline method');
    const method = build(config, { ...DEFAULT_LAGRANGE, threshold: D, lr: LR });
    const seen: string[] = [];
    const categoryOfPrompt = new Map(data.prompts.map((p) => [squash(p.prompt), p.category ?? '']));
    const actor = tinyLm(1);
    const critics: Partial<Record<StreamName, ScoreModel>> = {};
    for (const s of criticStreams(method)) critics[s] = ScoreModel.fromCausalLM(tinyLm(2), 'critic');
    const rl = RlConfigSchema.parse({ steps: 2, promptsPerStep: 96, miniBatchSize: 96, ppoEpochs: 1, maxNewTokens: 3, checkpointEvery: 10, seed: 3 });
    const zero: SequenceScorer = { forward: (ids: Tensor) => ({ endScores: tensor(Array<number>(ids.shape[0] as number).fill(0)) }), eval: () => undefined };
    const { log } = trainRl({
      method,
      models: { actor, reference: tinyLm(1), rewardModel: zero, costModel: categoryScorer(categoryOfPrompt, seen), critics },
      tokenizer,
      prompts: data.prompts,
      config: rl,
      outDir: mkdtempSync(join(tmpdir(), 'category-split-rl-')),
    });

    const first = log[0] as RlLogRecord;
    const step1 = new Set(seen.slice(0, rl.promptsPerStep));
    // every category drawn in the step has its own multiplier, and only those
    expect(Object.keys(first.categories ?? {}).sort()).toEqual([...step1].sort());
    expect(step1.size).toBeGreaterThan(10);
    for (const [k, v] of Object.entries(first.categories ?? {})) {
      const c = costOf.get(k) as number;
      expect(v.jc, k).toBeCloseTo(c, 6);
      expect(v.lambda, k).toBeCloseTo(Math.exp(LR * (c - D)), 6);
    }
    // categories above d are pushed harder, those below relax; the logged λ is the mean over the step's rows
    const rowLambdas = seen.slice(0, rl.promptsPerStep).map((k) => Math.exp(LR * ((costOf.get(k) as number) - D)));
    expect(first.lambda).toBeCloseTo(rowLambdas.reduce((a, b) => a + b, 0) / rowLambdas.length, 6);
    // step 2: a category seen in both steps keeps its window (J_c,k still c_k) and takes a second multiplicative step
    const second = log[1] as RlLogRecord;
    for (const k of [...new Set(seen.slice(rl.promptsPerStep))].filter((x) => step1.has(x))) {
      const c = costOf.get(k) as number;
      expect(second.categories?.[k]?.jc, k).toBeCloseTo(c, 6);
      expect(second.categories?.[k]?.lambda, k).toBeCloseTo(Math.exp(2 * LR * (c - D)), 6);
    }
  }, 120_000);
});
