// Tiny model folders for RL-on-folders tests: a GPT-2 actor and reward/cost models (1 layer, d = 16) with one word-level tokenizer, and a prompt file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCausalLM, parseModelConfig, savePretrained, ScoreModel, trainWordLevel } from '../../src/models/index.js';
import { manualSeed } from '../../src/torch/index.js';

/**
 * Writes `<dir>/actor`, one folder per entry of `scores` (name -> [kind, seed]) and `<dir>/prompts.txt` (`prompts`).
 * Models differ only by their seed.
 */
export function writeTinyFolders(dir: string, scores: Record<string, ['reward' | 'cost', number]>, prompts: readonly string[]): void {
  const tok = trainWordLevel([...prompts, 'bread is baked in an oven', 'a cat is an animal', 'BEGINNING OF CONVERSATION : USER ASSISTANT'], { vocabSize: 64 });
  const gpt2 = (seed: number) => {
    manualSeed(seed);
    return createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, n_positions: 48, vocab_size: tok.vocabSize }));
  };
  savePretrained(join(dir, 'actor'), gpt2(1), { tokenizer: tok });
  for (const [name, [kind, seed]] of Object.entries(scores)) savePretrained(join(dir, name), ScoreModel.fromCausalLM(gpt2(seed), kind), { tokenizer: tok });
  writeFileSync(join(dir, 'prompts.txt'), prompts.join('\n') + '\n');
}
