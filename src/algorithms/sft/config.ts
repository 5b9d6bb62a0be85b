// Supervised fine-tuning config: a zod schema with defaults.
import { z } from 'zod';
import { withDefaults } from '../../config/defaults.js';
import { LoraSchema } from '../common/lora-config.js';
import { OptimSchema } from '../common/optim-config.js';

export const SftConfigSchema = z
  .object({
    epochs: z.number().positive().default(6).describe('passes over the SFT corpus'),
    batchSize: z.number().int().positive().default(32).describe('examples per optimiser step'),
    maxLength: z.number().int().positive().default(96).describe('truncate prompt+response to this many tokens'),
    optim: withDefaults(OptimSchema, { lr: 2e-3 }).describe('optimiser'),
    evalEvery: z.number().int().positive().default(200).describe('steps between evaluations on the test split'),
    checkpointEvery: z.number().int().positive().default(200).describe('steps between resumable checkpoints'),
    seed: z.number().int().default(0).describe('seed for shuffling and dropout'),
    lora: LoraSchema.optional().describe('LoRA adapters instead of full fine-tuning (give any field, e.g. --sft-lora-r 8, to turn it on): the adapter is written to <out>/adapter in peft layout and merged into the model written to <out>'),
  })
  .strict();
export type SftConfig = z.output<typeof SftConfigSchema>;
