// `safealign generate`: sample a response from a model folder for one prompt.
import type { Command } from 'commander';
import { z } from 'zod';
import { DeviceSchema, useDevice } from '../config/device.js';
import { encodePrompt } from '../algorithms/common/batching.js';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { CausalLM, generate, loadPretrained, RawPromptsSchema } from '../models/index.js';
import { VerbalizedAttemptsSchema, VerbalizedKSchema, verbalizedPrompt, verbalizedSample } from '../models/verbalized.js';
import { manualSeed, tensor } from '../torch/index.js';
import { Rng } from '../world/rng.js';

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
    device: DeviceSchema,
    json: z.boolean().default(false).describe('print {"tokens", "text", "logprobs"} as JSON (with --verbalized: {"text", "verbalized"}, the drawn answer and the parsed list)'),
    verbalized: VerbalizedKSchema.describe('verbalized sampling (Zhang et al. 2025): ask the chat model for this many answers, one per line ending in "(probability: p)", parse the list (malformed lists are rejected and regenerated, never guessed) and print one answer drawn from the stated probabilities, renormalised (seeded by --seed); 0 = off'),
    verbalizedAttempts: VerbalizedAttemptsSchema.describe('with --verbalized: generations tried until one is a well-formed list; then the command fails and prints every problem and the last raw output'),
  })
  .strict();

export function register(program: Command): void {
  const cmd = program.command('generate').description('generate a response from a model folder').option('--config <file>', 'YAML config');
  const leaves = addSchemaOptions(cmd, GenerateCli);
  cmd.action(async (opts: Record<string, unknown>) => {
    const cfg = resolveConfig(GenerateCli, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    useDevice(cfg.device);
    const loaded = loadPretrained(cfg.model);
    if (!(loaded.model instanceof CausalLM)) throw new ConfigError(`${cfg.model}: a score model cannot generate; give a causal LM folder`);
    const tok = loaded.tokenizer;
    if (!tok) throw new ConfigError(`${cfg.model}: no tokenizer.json`);
    const model = loaded.model.eval();
    const eos = tok.eosId;
    const sample = (prompt: string, seed: number) => {
      const ids = encodePrompt(tok, { prompt }, { raw: cfg.raw });
      const ctx = model.contextLength;
      if (ids.length < ctx && ids.length + cfg.maxNewTokens > ctx) {
        console.error(`note: the prompt is ${ids.length} tokens and the model's context ${ctx}: at most ${ctx - ids.length} new tokens (not ${cfg.maxNewTokens})`);
      }
      manualSeed(seed);
      const on = { dtype: 'int64', device: model.device } as const;
      const out = generate(model, tensor([ids], on), tensor([ids.map(() => 1)], on), {
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
      return { tokens, text: tok.decode(tokens.filter((t) => t !== eos), { skipSpecialTokens: true }), logprobs };
    };
    if (cfg.verbalized === 0) {
      const { tokens, text, logprobs } = sample(cfg.prompt, cfg.seed);
      console.log(cfg.json ? JSON.stringify({ tokens, text, logprobs }) : text);
      return;
    }
    // attempt 0 samples from --seed as a plain generation would; each retry from a seed derived from it
    const seedOf = (attempt: number) => (attempt === 0 ? cfg.seed : new Rng(cfg.seed).derive(`verbalized attempt ${attempt}`).seed);
    const prompt = verbalizedPrompt(cfg.prompt, cfg.verbalized);
    const r = await verbalizedSample((attempt) => sample(prompt, seedOf(attempt)).text, cfg.verbalized, cfg.verbalizedAttempts, new Rng(cfg.seed).derive('verbalized choice'));
    if (!r.ok) {
      const lines = r.rejected.map((p, i) => `attempt ${i + 1}: ${p.join('; ')}`);
      throw new ConfigError(`--verbalized ${cfg.verbalized}: no well-formed list in ${r.attempts} attempts (raise --max-new-tokens or --verbalized-attempts, or lower --verbalized):\n${lines.join('\n')}\nlast raw output:\n${r.raw}`);
    }
    for (const [i, p] of r.rejected.entries()) console.error(`verbalized: attempt ${i + 1} rejected: ${p.join('; ')}`);
    if (cfg.json) console.log(JSON.stringify({ text: r.answer, verbalized: { k: cfg.verbalized, chosen: r.chosen, answers: r.answers, statedSum: r.statedSum, attempts: r.attempts, rejected: r.rejected } }));
    else console.log(r.answer);
  });
}
