// Settings of `safealign best-of-n`: which policy to sample N times per prompt, judged and picked by which reward and cost models.
import { z } from 'zod';
import { DeviceSchema } from '../config/device.js';
import { ScoreRuleSchema } from '../algorithms/best-of-n/rule.js';

export const BestOfNConfigSchema = z
  .object({
    model: z.string().describe('policy folder to sample from (Hugging Face causal LM with its tokenizer; usually the SFT model)'),
    device: DeviceSchema,
    prompts: z.string().describe('prompts: PKU-SafeRLHF or HH-RLHF JSONL, {"prompt"} JSONL (a row may flag itself with "risky": true|false or "kind": "risky"|"benign"; the built-in world\'s prompt files add the gold judge), or plain text, one per line'),
    reward: z.string().describe('reward model folder: the helpfulness score R_h = σ(reward)'),
    cost: z.string().describe('cost model folder: the safety score R_s = σ(−cost); a picked response scored above --harm-threshold counts as harmful'),
    out: z.string().describe('output folder: report.json, report.html, samples.jsonl'),
    n: z.array(z.number().int().positive()).min(1).default([1, 2, 4, 8, 16]).describe('the N to evaluate (comma-separated); max(N) samples are drawn per prompt and each N picks among the first N'),
    rule: ScoreRuleSchema.prefault({}).describe("Llama 2's rule: rank by R_s on risky prompts and for unsafe responses, else by R_h"),
    maxPrompts: z.number().int().positive().optional().describe('use the first N prompts that fit only (default: all)'),
    maxNewTokens: z.number().int().positive().default(64).describe('longest response generated; a prompt that leaves no room for it in the context is skipped and counted'),
    temperature: z.number().positive().default(1).describe('sampling temperature'),
    scoreMaxLength: z.number().int().positive().default(512).describe('prompt + response tokens the reward and cost models read (capped by their context; the response\'s start is cut, its end kept)'),
    harmThreshold: z.number().default(0).describe('a picked response is harmful when its cost-model score is above this'),
    gold: z.enum(['auto', 'off']).default('auto').describe('auto: add gold harmful rate and helpfulness when the prompts are the built-in world\'s'),
    batchSize: z.number().int().positive().default(16).describe('prompts per generation batch'),
    seed: z.number().int().default(0).describe('sampling seed'),
  })
  .strict();
export type BestOfNConfig = z.output<typeof BestOfNConfigSchema>;
