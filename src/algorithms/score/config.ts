// Reward- and cost-model training config: one schema, the score type picks the loss.
import { z } from 'zod';
import { withDefaults } from '../../config/defaults.js';
import { LoraSchema } from '../common/lora-config.js';
import { OptimSchema } from '../common/optim-config.js';

export const ScoreConfigSchema = z
  .object({
    epochs: z.number().positive().default(1).describe('passes over the preference pairs'),
    batchSize: z.number().int().positive().default(32).describe('pairs per optimiser step'),
    maxLength: z.number().int().positive().default(96).describe('truncate prompt+response to this many tokens'),
    regularization: z.number().min(0).default(0.001).describe('L2 penalty on scores: reg * mean(score^2)'),
    optim: withDefaults(OptimSchema, { lr: 1e-3 }).describe('optimiser'),
    checkpointEvery: z.number().int().positive().default(200).describe('steps between resumable checkpoints'),
    seed: z.number().int().default(0).describe('seed for shuffling'),
    lora: LoraSchema.optional().describe('LoRA adapters instead of full fine-tuning (give any field, e.g. --score-lora-r 8, to turn it on): the adapter is written to <out>/adapter in peft layout and merged into the model written to <out>; the score head is trained in full (peft modules_to_save)'),
  })
  .strict();
export type ScoreConfig = z.output<typeof ScoreConfigSchema>;
