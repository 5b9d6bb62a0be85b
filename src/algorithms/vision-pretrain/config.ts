// Pretraining a vision tower on pictures labelled with what they show (the glyphs' shape and colour): a zod schema with defaults.
import { z } from 'zod';
import { withDefaults } from '../../config/defaults.js';
import { OptimSchema } from '../common/optim-config.js';

export const VisionPretrainConfigSchema = z
  .object({
    poses: z.number().int().min(0).default(200).describe("pictures rendered per glyph (8 shapes x 4 colours), each in a fresh seeded pose (a stream of its own, not the world's pictures); 0 = no pretraining (a random tower)"),
    epochs: z.number().positive().default(5).describe('passes over the pictures'),
    batchSize: z.number().int().positive().default(64).describe('pictures per optimiser step'),
    optim: withDefaults(OptimSchema, { lr: 3e-3 }).describe('optimiser'),
    checkpointEvery: z.number().int().positive().default(1000).describe('steps between resumable checkpoints'),
    seed: z.number().int().default(0).describe('seed of the poses, the heads and the shuffling'),
  })
  .strict();
export type VisionPretrainConfig = z.output<typeof VisionPretrainConfigSchema>;
