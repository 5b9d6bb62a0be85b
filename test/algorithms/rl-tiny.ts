// A tiny RL setup (GPT-2 from scratch, word-level tokenizer, score models from the actor) shared by the RL loop tests.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { safeGrpoMethod } from '../../src/algorithms/grpo/method.js';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { rlooLagMethod } from '../../src/algorithms/rloo-lag/method.js';
import { ppoMethod } from '../../src/algorithms/ppo/method.js';
import { rewardShapingMethod } from '../../src/algorithms/reward-shaping/method.js';
import { RlConfigSchema, type RlConfig } from '../../src/algorithms/rl/config.js';
import { criticStreams, type RlMethod, type StreamName } from '../../src/algorithms/rl/method.js';
import { trainRl, type GoldJudge, type RlLogRecord } from '../../src/algorithms/rl/train.js';
import { createCausalLM, parseModelConfig, ScoreModel, trainWordLevel, type CausalLM, type Tokenizer } from '../../src/models/index.js';
import { manualSeed, setNumThreads } from '../../src/torch/index.js';

/** The methods of the committed regression baseline. */
export const TINY_METHODS = ['ppo', 'shaping', 'ppo_lag'] as const;
/** Those and the critic-free Lagrangian methods (which need rl.samplesPerPrompt >= 2). */
export type TinyMethod = (typeof TINY_METHODS)[number] | 'safe_grpo' | 'rloo_lag';

const words = ['red', 'blue', 'green', 'cat', 'dog', 'runs', 'sits', 'big', 'small', 'the', 'a', 'help', 'harm', 'please', 'tell', 'me', 'how'];
export const tinyPrompts = ['tell me the cat', 'how big the dog', 'please help me', 'a red cat runs', 'how harm the dog', 'blue dog sits'].map((prompt, i) => ({ prompt, risky: i % 2 === 1 }));
export const tinyPtx = tinyPrompts.map((p, i) => ({ prompt: p.prompt, response: `${words[i % words.length]} ${words[(i * 5 + 3) % words.length]} the cat` }));

/** Word-level tokenizer over the tiny vocabulary (chat markers and special tokens included). */
export function tinyTokenizer(): Tokenizer {
  const base = trainWordLevel([], { vocabSize: 16 });
  const corpus = [...words, ...tinyPrompts.map((p) => base.applyChatTemplate([{ role: 'user', content: p.prompt }], { addGenerationPrompt: true }))];
  return trainWordLevel(corpus, { vocabSize: 64 });
}

/** One-layer GPT-2 with fixed random weights (seeded). */
export function tinyActor(tokenizer: Tokenizer, seed = 1): CausalLM {
  manualSeed(seed);
  return createCausalLM(
    parseModelConfig({
      model_type: 'gpt2',
      n_embd: 16,
      n_layer: 1,
      n_head: 2,
      n_positions: 64,
      vocab_size: tokenizer.vocabSize,
      tie_word_embeddings: true,
      eos_token_id: tokenizer.eosId ?? null,
      pad_token_id: tokenizer.padId ?? null,
    }),
  );
}

export function tinyMethod(name: TinyMethod): RlMethod {
  const shaping = { klCoef: 0.05, scoreClip: 50 };
  if (name === 'ppo') return ppoMethod(shaping);
  if (name === 'shaping') return rewardShapingMethod({ ...shaping, nu: 2 });
  const lagrange = { threshold: 0, init: 1, lr: 0.5, window: 16, max: null, delaySteps: 0, rule: 'multiplicative' } as const;
  if (name === 'safe_grpo') return safeGrpoMethod({ klCoef: 0.05, scaleRewards: 'group', scoreClip: 50, lagrange });
  if (name === 'rloo_lag') return rlooLagMethod({ ...shaping, lagrange });
  return ppoLagMethod({ ...shaping, lagrange });
}

export function tinyConfig(overrides: Record<string, unknown> = {}): RlConfig {
  return RlConfigSchema.parse({
    steps: 3,
    promptsPerStep: 4,
    miniBatchSize: 2,
    ppoEpochs: 2,
    maxNewTokens: 6,
    ptxCoef: 0.5,
    checkpointEvery: 1,
    actorOptim: { lr: 1e-2 },
    criticOptim: { lr: 1e-2 },
    ...overrides,
  });
}

/** A judge that is a pure function of the text (so gold fields are exercised). */
export const tinyJudge: GoldJudge = (items) => ({
  harmfulRate: items.filter((x) => x.response.includes('harm')).length / Math.max(1, items.length),
  helpfulness: items.reduce((a, x) => a + x.response.split(' ').length, 0) / Math.max(1, items.length),
});

/** Everything a tiny run needs, built fresh (same weights every call). */
export function tinyModels(method: RlMethod) {
  setNumThreads(1);
  const tokenizer = tinyTokenizer();
  const actor = tinyActor(tokenizer, 1);
  const reference = actor.clone();
  manualSeed(2);
  const rewardModel = ScoreModel.fromCausalLM(tinyActor(tokenizer, 3), 'reward');
  manualSeed(4);
  const costModel = ScoreModel.fromCausalLM(tinyActor(tokenizer, 5), 'cost');
  const critics: Partial<Record<StreamName, ScoreModel>> = {};
  for (const s of criticStreams(method)) critics[s] = ScoreModel.fromScoreModel(s === 'reward' ? rewardModel : costModel, 'critic');
  return { tokenizer, models: { actor, reference, rewardModel, costModel, critics } };
}

/** sha256 of every parameter's bytes in name order. */
export function paramHash(m: { namedParameters(): Map<string, { toBuffer(): Uint8Array }> }): string {
  const h = createHash('sha256');
  for (const [n, p] of [...m.namedParameters()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(n);
    h.update(p.toBuffer());
  }
  return h.digest('hex');
}

export interface TinyRunResult {
  log: RlLogRecord[];
  actorHash: string;
  criticHashes: Record<string, string>;
  actorSample: number[];
}

/** Runs `name` on the tiny setup for config.steps steps in `outDir` (a new temp dir by default). */
export function runTiny(name: TinyMethod, config: RlConfig = tinyConfig(), outDir = mkdtempSync(join(tmpdir(), `rl-tiny-${name}-`))): TinyRunResult & { models: ReturnType<typeof tinyModels>['models'] } {
  const method = tinyMethod(name);
  const { tokenizer, models } = tinyModels(method);
  const out = trainRl({ method, models, tokenizer, prompts: tinyPrompts, ptxData: tinyPtx, config, outDir, judge: tinyJudge });
  const first = [...models.actor.namedParameters()].sort(([a], [b]) => (a < b ? -1 : 1))[0]?.[1];
  return {
    log: out.log,
    actorHash: paramHash(models.actor),
    criticHashes: Object.fromEntries(Object.entries(models.critics).map(([s, c]) => [s, paramHash(c as ScoreModel)])),
    actorSample: first ? first.flatten().narrow(0, 0, 5).toNumbers() : [],
    models,
  };
}
