// DPO, SafeDPO and SACPO configs: one preference-training schema, SafeDPO's Δ and SACPO's λ and merge on top.
import { z } from 'zod';
import { withDefaults } from '../../config/defaults.js';
import { OptimSchema } from '../common/optim-config.js';

/** What every preference trainer shares: the loss variant, β, and the optimisation loop. */
export const PreferenceTrainSchema = z
  .object({
    variant: z.enum(['sigmoid', 'ipo', 'robust']).default('sigmoid').describe("loss: 'sigmoid' = DPO (cDPO with labelSmoothing > 0), 'ipo' = IPO on length-averaged log-ratios, 'robust' = rDPO's label-noise correction"),
    beta: z.number().positive().default(0.1).describe('β: strength of the KL regularisation towards the reference (DPO paper and TRL: 0.1)'),
    labelSmoothing: z.number().min(0).max(0.49).default(0).describe('ε: assumed share of flipped preference labels (sigmoid and robust only)'),
    epochs: z.number().positive().default(1).describe('passes over the preference pairs'),
    batchSize: z.number().int().positive().default(16).describe('pairs per optimiser step'),
    maxLength: z.number().int().positive().default(96).describe('truncate prompt+response to this many tokens (the response end is cut)'),
    optim: withDefaults(OptimSchema, { lr: 1e-4, schedule: 'linear', warmupRatio: 0.1 }).describe('optimiser'),
    checkpointEvery: z.number().int().positive().default(100).describe('steps between resumable checkpoints'),
    seed: z.number().int().default(0).describe('seed for shuffling'),
  })
  .strict();
export type PreferenceTrainConfig = z.output<typeof PreferenceTrainSchema>;

export const DpoConfigSchema = PreferenceTrainSchema;
export type DpoConfig = PreferenceTrainConfig;

export const SafeDpoConfigSchema = PreferenceTrainSchema.extend({
  delta: z.number().min(0).default(0).describe('Δ ≥ 0: the margin a safe response must beat an unsafe one by, subtracted from the logit of such pairs (0 = reordering only)'),
  bothUnsafe: z
    .enum(['keep', 'drop'])
    .default('keep')
    .describe("pairs whose two responses are both unsafe: 'keep' in helpfulness order with no offset (the paper's transformation), or 'drop'"),
}).strict();
export type SafeDpoConfig = z.output<typeof SafeDpoConfigSchema>;

export const SacpoConfigSchema = z
  .object({
    helpful: PreferenceTrainSchema.prefault({}).describe('stage 1: DPO on the helpfulness pairs (better vs worse) from the start model'),
    safety: PreferenceTrainSchema.omit({ beta: true }).prefault({}).describe('stage 2: DPO on the safety pairs (safer vs unsafer) from the stage-1 model, with β = helpful.beta / lambda'),
    lambda: z.number().positive().default(1).describe('λ: the weight of safety against helpfulness; stage 2 regularises towards the stage-1 model with β/λ, so a larger λ moves further towards the safer responses'),
    merge: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .default(null)
      .describe('P-SACPO: also write the linear weight merge (1 − q)·θ_helpful + q·θ_safety with this q (null = no merge)'),
  })
  .strict();
export type SacpoConfig = z.output<typeof SacpoConfigSchema>;
