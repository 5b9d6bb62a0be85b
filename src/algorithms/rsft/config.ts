// Rejection-sampling fine-tuning config: a zod schema with defaults.
import { z } from 'zod';
import { withDefaults } from '../../config/defaults.js';
import { ScoreRuleSchema } from '../best-of-n/rule.js';
import { SftConfigSchema } from '../sft/config.js';

export const RsftConfigSchema = z
  .object({
    rounds: z.number().int().positive().default(2).describe('R: rounds of sample → pick → SFT, each from the policy the previous round left'),
    samplesPerPrompt: z.number().int().min(1).default(4).describe("K: responses sampled per prompt; the best by the rule is the SFT target"),
    promptsPerRound: z.number().int().positive().optional().describe('prompts sampled per round, a fresh seeded draw each round (default: every prompt that fits)'),
    maxNewTokens: z.number().int().positive().default(64).describe('longest sampled response; a prompt that leaves no room for it in the context is skipped and counted'),
    temperature: z.number().positive().default(1).describe('sampling temperature'),
    rule: ScoreRuleSchema.prefault({}).describe("Llama 2's rule: rank by σ(−cost) on risky prompts and for unsafe responses, else by σ(reward)"),
    maxCost: z.number().nullable().default(null).describe('cost filter: a pick whose cost-model score is above this is dropped from SFT (null = keep every pick)'),
    sft: withDefaults(SftConfigSchema, { epochs: 2 }).describe('the SFT of every round on its picks (its seed + round)'),
    batchSize: z.number().int().positive().default(16).describe('prompts per generation batch'),
    seed: z.number().int().default(0).describe('sampling seed (+ round)'),
  })
  .strict();
export type RsftConfig = z.output<typeof RsftConfigSchema>;
