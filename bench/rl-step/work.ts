// The work of one bench/rl-step size — model shape, prompts, stop schedule, batch settings — written once to a file both engines read.
import { encodePrompt } from '../../src/algorithms/common/batching.js';
import { PipelineConfigSchema } from '../../src/pipeline/config.js';
import { worldTokenizer } from '../../src/pipeline/world-tokenizer.js';
import { buildPrompts, buildSftCorpus, Rng, worldVocabulary } from '../../src/world/index.js';

export const SIZES = ['tiny', 'default', '124m'] as const;
export type Size = (typeof SIZES)[number];

/** Everything a worker of either engine needs to run the same step. */
export interface RlStepWork {
  size: Size;
  /** GPT-2 shape (HF config.json names; tied LM head). */
  model: { n_embd: number; n_layer: number; n_head: number; n_positions: number; vocab_size: number };
  /** One prompt a row (token ids, unpadded; left-padded by the engines). */
  prompts: number[][];
  /**
   * Row r's response is stops[r] tokens, the last one EOS: each engine forces EOS at that step and bans it before (a row
   * longer than newTokens is cut there without EOS). null: no stop token, every response is newTokens long.
   */
  stops: number[] | null;
  newTokens: number;
  miniBatch: number;
  ppoEpochs: number;
  /** β of the KL shaping. */
  klCoef: number;
  eosId: number;
  padId: number;
  /** What the prompts and stops are, for the printout. */
  describe: string;
}

/** A random-token shape (no stop token): 8 prompts of 64 tokens, 64 new tokens, one mini-batch of 8. */
function randomWork(size: Size, model: RlStepWork['model']): RlStepWork {
  const rng = new Rng(0);
  const prompts = Array.from({ length: 8 }, () => Array.from({ length: 64 }, () => 1 + rng.int(model.vocab_size - 1)));
  return { size, model, prompts, stops: null, newTokens: 64, miniBatch: 8, ppoEpochs: 1, klCoef: 0.01, eosId: 0, padId: 0, describe: '8 random prompts of 64 tokens, 64 new tokens (no stop token), one mini-batch of 8' };
}

/**
 * The default pipeline's PPO-Lagrangian step (src/pipeline/config.ts defaults): its GPT-2 shape, its tokenizer's
 * vocabulary, rl.promptsPerStep train prompts of the default world (drawn with a fixed seed), rl.maxNewTokens,
 * rl.miniBatchSize, rl.ppoEpochs, ppoLag.klCoef. The stop schedule: each drawn prompt's response is as long as one of
 * its own SFT demonstrations (tokens + EOS) — the lengths an SFT policy writes there — so early exit and length buckets
 * see realistic, varied lengths while both engines do the same work. Nothing is trained.
 */
function defaultWork(): RlStepWork {
  const config = PipelineConfigSchema.parse({});
  const w = config.world;
  const train = buildPrompts(w.seed, w.testFraction).filter((p) => p.split === 'train');
  const sft = buildSftCorpus(train, w.sft.mix, w.sft.responsesPerPrompt, new Rng(w.seed).derive('sft/train'));
  const tokenizer = worldTokenizer(sft, worldVocabulary());
  const demos = new Map<string, string[]>();
  for (const e of sft) demos.set(e.prompt, [...(demos.get(e.prompt) ?? []), e.response]);
  const rng = new Rng(0);
  const B = config.rl.promptsPerStep;
  const NEW = config.rl.maxNewTokens;
  const prompts: number[][] = [];
  const stops: number[] = [];
  for (let r = 0; r < B; r++) {
    const p = train[rng.int(train.length)] as (typeof train)[number];
    const answers = demos.get(p.prompt) ?? [];
    const answer = answers[rng.int(answers.length)] ?? '';
    prompts.push(encodePrompt(tokenizer, p));
    const length = tokenizer.encode(answer, { addSpecialTokens: false }).length + 1;
    stops.push(length <= NEW ? length : NEW + 1);
  }
  const m = config.model;
  const eosId = tokenizer.eosId;
  if (eosId === undefined) throw new Error('the world tokenizer has no EOS token');
  const lengths = prompts.map((p) => p.length);
  const sorted = [...stops].sort((a, b) => a - b);
  return {
    size: 'default',
    model: { n_embd: m.nEmbd, n_layer: m.nLayer, n_head: m.nHead, n_positions: m.nPositions, vocab_size: tokenizer.vocabSize },
    prompts,
    stops,
    newTokens: NEW,
    miniBatch: config.rl.miniBatchSize,
    ppoEpochs: config.rl.ppoEpochs,
    klCoef: config.ppoLag.klCoef,
    eosId,
    padId: tokenizer.padId ?? 0,
    describe: `${B} world train prompts of ${Math.min(...lengths)}–${Math.max(...lengths)} tokens, up to ${NEW} new tokens ending at EOS after ${sorted[0]}–${sorted[B - 1]} (median ${sorted[B >> 1]}, mean ${(stops.reduce((a, b) => a + b, 0) / B).toFixed(1)}), mini-batch ${config.rl.miniBatchSize}, ${config.rl.ppoEpochs} PPO epoch, β ${config.ppoLag.klCoef}`,
  };
}

export function buildWork(size: Size): RlStepWork {
  if (size === 'default') return defaultWork();
  if (size === 'tiny') return randomWork(size, { n_embd: 64, n_layer: 2, n_head: 4, n_positions: 256, vocab_size: 1024 });
  return randomWork(size, { n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 });
}
