// A randomly initialised Hugging Face model folder from a config.json and a tokenizer.json: a model of any GPT-2 or Llama shape without downloads.
import { readFileSync } from 'node:fs';
import { manualSeed } from '../torch/index.js';
import { CausalLM } from './causal-lm.js';
import { savePretrained } from './hf.js';
import { ModelConfigError, parseModelConfig, type ModelConfig } from './hf-config.js';
import { Tokenizer } from './tokenizer.js';

export interface InitModelResult {
  config: ModelConfig;
  parameters: number;
  out: string;
}

/**
 * Builds a causal LM of the shape in `configFile` (HF config.json, GPT-2 or Llama family) with
 * random weights drawn from `seed`, and writes it with the tokenizer as an HF folder. A config
 * without `vocab_size` takes the tokenizer's; pad/eos ids come from the tokenizer when the config has none.
 */
export function initPretrained(args: { configFile: string; tokenizerFile: string; out: string; seed?: number }): InitModelResult {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(args.configFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ModelConfigError(`${args.configFile}: ${(e as Error).message}`);
  }
  const tokenizer = Tokenizer.fromFile(args.tokenizerFile);
  const config = parseModelConfig(
    {
      vocab_size: tokenizer.vocabSize,
      ...(tokenizer.eosId !== undefined ? { eos_token_id: tokenizer.eosId } : {}),
      ...(tokenizer.padId !== undefined ? { pad_token_id: tokenizer.padId } : {}),
      ...raw,
    },
    args.configFile,
  );
  if (config.vocab_size < tokenizer.vocabSize) {
    throw new ModelConfigError(
      `${args.configFile}: vocab_size ${config.vocab_size} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens (${args.tokenizerFile}); raise vocab_size or leave it out to take the tokenizer's`,
    );
  }
  manualSeed(args.seed ?? 0);
  const model = new CausalLM(config);
  savePretrained(args.out, model, { tokenizer });
  const parameters = model.numParameters();
  for (const p of model.parameters()) p.dispose();
  return { config, parameters, out: args.out };
}
