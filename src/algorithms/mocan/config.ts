// MoCAN's config: how the dual is estimated from the reference policy's samples, and the DPO on the pairs relabelled by r − λ*·c.
import { z } from 'zod';
import { PreferenceTrainSchema } from '../dpo/config.js';

export const MocanConfigSchema = z
  .object({
    samplesPerPrompt: z.number().int().min(2).default(8).describe('K: responses sampled from the reference policy per prompt to estimate the dual (the paper: 64 on PKU-SafeRLHF)'),
    prompts: z.number().int().positive().default(256).describe('prompts (a seeded random subset of those given) on which the dual is estimated'),
    temperature: z.number().positive().default(1).describe('sampling temperature of the reference policy (1 = π_ref itself, as the dual assumes)'),
    maxNewTokens: z.number().int().positive().default(48).describe('longest sampled response'),
    sampleBatchSize: z.number().int().positive().default(32).describe('responses generated per batch'),
    lambdaMax: z.number().positive().default(1000).describe('upper end of the search for λ*; an unreachable budget stops here and is reported as infeasible'),
    lambda: z.number().min(0).nullable().default(null).describe('a fixed λ instead of the dual estimate (null = estimate λ* from the samples; a number skips the sampling, e.g. for a λ sweep)'),
    labels: z
      .enum(['soft', 'hard'])
      .default('soft')
      .describe("'soft' = each relabelled pair carries the Bradley–Terry label σ(Δ(r − λ*·c)) (the paper's pseudo-preferences; DPO's optimum is then the tilted policy π_λ* the dual was solved for; sigmoid variant only), 'hard' = the higher r − λ*·c simply wins"),
    preference: PreferenceTrainSchema.prefault({}).describe('the DPO on the relabelled pairs; its β is also the β of the dual (one KL-regularised problem)'),
    seed: z.number().int().default(0).describe('seed of the prompt subset and of the sampling'),
  })
  .strict();
export type MocanConfig = z.output<typeof MocanConfigSchema>;
