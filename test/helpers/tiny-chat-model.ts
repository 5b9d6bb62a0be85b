// Test helper: a tiny random-weight GPT-2 chat model folder (word-level tokenizer, safe-rlhf's default template) for the server tests.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCausalLM, parseModelConfig, savePretrained, ScoreModel, trainWordLevel } from '../../src/models/index.js';
import { manualSeed } from '../../src/torch/index.js';

const WORDS = 'the a cat dog sat on mat ran far away good bad help with that how do i make bread bake cake water fire stone tree house road car fast slow red blue green please tell me about'.split(' ');

/**
 * Writes a GPT-2 (context `context`) and optionally a cost model on one tokenizer into `dir`/model and
 * `dir`/cost. With `eos: false` the tokenizer has no EOS, so every answer runs to max_tokens.
 */
export function buildTinyChatModel(dir: string, opts: { context?: number; eos?: boolean; seed?: number; cost?: boolean; layers?: number; width?: number } = {}): { model: string; cost: string } {
  const tok = trainWordLevel([...WORDS, 'BEGINNING OF CONVERSATION : USER ASSISTANT'], { vocabSize: 200 });
  manualSeed(opts.seed ?? 0);
  const config = parseModelConfig({ model_type: 'gpt2', n_embd: opts.width ?? 32, n_layer: opts.layers ?? 2, n_head: 2, n_positions: opts.context ?? 64, vocab_size: tok.vocabSize });
  const model = join(dir, 'model');
  const cost = join(dir, 'cost');
  savePretrained(model, createCausalLM(config), { tokenizer: tok });
  if (opts.cost) savePretrained(cost, ScoreModel.fromCausalLM(createCausalLM(config), 'cost'), { tokenizer: tok });
  if (opts.eos === false) {
    for (const [file, key] of [['tokenizer_config.json', 'eos_token'], ['generation_config.json', 'eos_token_id']] as const) {
      const cfg = JSON.parse(readFileSync(join(model, file), 'utf8')) as Record<string, unknown>;
      delete cfg[key];
      writeFileSync(join(model, file), JSON.stringify(cfg));
    }
  }
  return { model, cost };
}
