// Supervised fine-tuning config: a zod schema with defaults.
import { z } from 'zod';
import { withDefaults } from '../../config/defaults.js';
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
  })
  .strict();
export type SftConfig = z.output<typeof SftConfigSchema>;
