// `safealign model init|merge-lora`: a random-init HF folder of any GPT-2 / Llama shape, and a peft LoRA adapter merged into its base.
import type { Command } from 'commander';
import { z } from 'zod';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { initPretrained, mergeAdapterFolder } from '../models/index.js';

const InitCli = z
  .object({
    config: z.string().describe('HF config.json of the shape to build (model_type gpt2, llama, qwen2 or mistral); vocab_size defaults to the tokenizer\'s'),
    tokenizer: z.string().describe('tokenizer.json (tokenizer_config.json beside it is read too), e.g. from `safealign tokenizer train`'),
    out: z.string().describe('output folder: config.json, model.safetensors, tokenizer files'),
    seed: z.number().int().default(0).describe('seed of the random weights'),
  })
  .strict();

const MergeCli = z
  .object({
    base: z.string().describe('the base model folder the adapter was trained on'),
    adapter: z.string().describe('peft LoRA folder (adapter_config.json, adapter_model.safetensors), e.g. <out>/adapter of a LoRA training run'),
    out: z.string().describe('output folder for the merged model (HF layout, with the base\'s tokenizer)'),
  })
  .strict();

export function register(program: Command): void {
  const model = program.command('model').description('create model folders and merge LoRA adapters');

  const init = model.command('init').description('write a randomly initialised Hugging Face model folder (GPT-2 or Llama family) of the shape in --config, e.g. GPT-2 small\'s 124M parameters, without downloads');
  const initLeaves = addSchemaOptions(init, InitCli);
  init.action((opts: Record<string, unknown>) => {
    const cfg = resolveConfig(InitCli, { flags: flagsToConfig(initLeaves, opts) });
    const r = initPretrained({ configFile: cfg.config, tokenizerFile: cfg.tokenizer, out: cfg.out, seed: cfg.seed });
    console.log(`${r.config.model_type} model with ${r.parameters.toLocaleString('en-US')} parameters (vocab ${r.config.vocab_size}) in ${r.out}`);
  });

  const merge = model.command('merge-lora').description('fold a peft LoRA adapter into its base model and write the merged model as an HF folder');
  const mergeLeaves = addSchemaOptions(merge, MergeCli);
  merge.action((opts: Record<string, unknown>) => {
    const cfg = resolveConfig(MergeCli, { flags: flagsToConfig(mergeLeaves, opts) });
    const { lora, merged } = mergeAdapterFolder(cfg);
    console.log(`merged ${merged} adapted projections (r ${lora.r}, alpha ${lora.alpha}, ${lora.targetModules.join(',')}) into ${cfg.out}`);
  });
}
