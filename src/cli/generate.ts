// `safealign generate`: sample a response from a model folder for one prompt.
import type { Command } from 'commander';
import { z } from 'zod';
import { encodePrompt } from '../algorithms/common/batching.js';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { CausalLM, generate, loadPretrained, RawPromptsSchema } from '../models/index.js';
import { manualSeed, tensor } from '../torch/index.js';

const GenerateCli = z
  .object({
    model: z.string().describe('Hugging Face model folder (config.json, model.safetensors, tokenizer.json)'),
    prompt: z.string().describe('the user prompt (rendered with the chat template unless --raw)'),
    raw: RawPromptsSchema,
    maxNewTokens: z.number().int().positive().default(48).describe('most tokens to generate'),
    greedy: z.boolean().default(false).describe('argmax decoding instead of sampling'),
    temperature: z.number().positive().default(1).describe('sampling temperature'),
    topK: z.number().int().min(0).default(0).describe('keep the k most likely tokens (0 = off)'),
    topP: z.number().positive().max(1).default(1).describe('nucleus sampling mass (1 = off)'),
    repetitionPenalty: z.number().positive().default(1).describe('HF-style repetition penalty (1 = off)'),
    seed: z.number().int().default(0).describe('sampling seed'),
    json: z.boolean().default(false).describe('print {"tokens", "text", "logprobs"} as JSON'),
  })
  .strict();

export function register(program: Command): void {
  const cmd = program.command('generate').description('generate a response from a model folder').option('--config <file>', 'YAML config');
  const leaves = addSchemaOptions(cmd, GenerateCli);
  cmd.action((opts: Record<string, unknown>) => {
    const cfg = resolveConfig(GenerateCli, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    const loaded = loadPretrained(cfg.model);
    if (!(loaded.model instanceof CausalLM)) throw new ConfigError(`${cfg.model}: a score model cannot generate; give a causal LM folder`);
    const tok = loaded.tokenizer;
    if (!tok) throw new ConfigError(`${cfg.model}: no tokenizer.json`);
    const ids = encodePrompt(tok, { prompt: cfg.prompt }, { raw: cfg.raw });
    const ctx = loaded.model.contextLength;
    if (ids.length < ctx && ids.length + cfg.maxNewTokens > ctx) {
      console.error(`note: the prompt is ${ids.length} tokens and the model's context ${ctx}: at most ${ctx - ids.length} new tokens (not ${cfg.maxNewTokens})`);
    }
    manualSeed(cfg.seed);
    const eos = tok.eosId;
    const out = generate(loaded.model.eval(), tensor([ids], { dtype: 'int64' }), tensor([ids.map(() => 1)], { dtype: 'int64' }), {
      maxNewTokens: cfg.maxNewTokens,
      greedy: cfg.greedy,
      temperature: cfg.temperature,
      topK: cfg.topK,
      topP: cfg.topP,
      repetitionPenalty: cfg.repetitionPenalty,
      stopTokenIds: eos === undefined ? [] : [eos],
      padId: tok.padId ?? 0,
    });
    const n = out.responseMask.sum().item();
    const tokens = out.sequences.narrow(1, ids.length, n).toNumbers();
    const logprobs = out.logProbs.narrow(1, 0, n).toNumbers();
    const text = tok.decode(tokens.filter((t) => t !== eos), { skipSpecialTokens: true });
    if (cfg.json) console.log(JSON.stringify({ tokens, text, logprobs }));
    else console.log(text);
  });
}
