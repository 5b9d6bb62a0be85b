// The optimiser section shared by every trainer's config.
import { z } from 'zod';

export const OptimSchema = z
  .object({
    lr: z.number().positive().default(1e-3).describe('peak learning rate (AdamW)'),
    weightDecay: z.number().min(0).default(0.01).describe('AdamW decoupled weight decay'),
    warmupRatio: z.number().min(0).max(1).default(0.05).describe('share of steps spent warming the learning rate up linearly'),
    schedule: z.enum(['constant', 'linear', 'cosine']).default('cosine').describe('learning-rate decay after warm-up'),
    gradClip: z.number().positive().default(1).describe('clip the global gradient norm to this'),
  })
  .strict();
export type OptimConfig = z.output<typeof OptimSchema>;
