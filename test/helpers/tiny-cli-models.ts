// Test helper: tiny GPT-2 policy, reward and cost folders on one word-level tokenizer, for the CLI tests that run on user models.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCausalLM, parseModelConfig, savePretrained, ScoreModel, trainWordLevel, type Tokenizer } from '../../src/models/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { sharedData } from './shared.js';

/** The shipped PKU-SafeRLHF sample (60 records). */
export const PKU_SAMPLE = sharedData('pku_saferlhf_sample60.jsonl');

/** The prompt and first response of every record of the PKU sample: the text the tiny tokenizers are fitted on. */
export function pkuTexts(): string[] {
  const rows = readFileSync(PKU_SAMPLE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { prompt: string; response_0: string });
  return rows.flatMap((r) => [r.prompt, r.response_0]);
}

/** One folder to write: a causal LM (no `kind`) or a reward / cost model on its backbone, initialised from `seed`. */
export interface TinyFolder {
  seed: number;
  kind?: 'reward' | 'cost';
  /** n_positions (default 64). */
  context?: number;
}

/**
 * Writes `<dir>/<name>` for each folder, in the order given (each model seeded before it is made), as
 * tiny GPT-2s (n_embd 16, 1 layer, 2 heads) sharing a word-level tokenizer of 1,500 words fitted on
 * `texts` and the chat template's words. Returns the tokenizer.
 */
export function saveTinyFolders(dir: string, texts: readonly string[], folders: Record<string, TinyFolder>): Tokenizer {
  const tok = trainWordLevel([...texts, 'BEGINNING OF CONVERSATION : USER ASSISTANT'], { vocabSize: 1500 });
  for (const [name, f] of Object.entries(folders)) {
    manualSeed(f.seed);
    const lm = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, n_positions: f.context ?? 64, vocab_size: tok.vocabSize }));
    savePretrained(join(dir, name), f.kind ? ScoreModel.fromCausalLM(lm, f.kind) : lm, { tokenizer: tok });
  }
  return tok;
}

/** The policy `sft` (seed 1), `reward` (seed 3) and `cost` (seed 4) folders on the PKU sample's words. */
export function saveTinyPkuModels(dir: string): void {
  saveTinyFolders(dir, pkuTexts(), { sft: { seed: 1 }, reward: { seed: 3, kind: 'reward' }, cost: { seed: 4, kind: 'cost' } });
}
