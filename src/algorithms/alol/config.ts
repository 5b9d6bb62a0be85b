// A-LoL's config: the loss variant, the value estimate from the reference policy's own samples, and the offline training loop.
import { z } from 'zod';
import { withDefaults } from '../../config/defaults.js';
import { OptimSchema } from '../common/optim-config.js';

export const AlolValueSchema = z
  .object({
    prompts: z.number().int().positive().default(256).describe('prompts (a seeded random subset of the training prompts) on which the reference policy is sampled to fit the value head'),
    samplesPerPrompt: z.number().int().positive().default(2).describe('responses of the reference policy per such prompt'),
    temperature: z.number().positive().default(1).describe('sampling temperature of the reference policy'),
    maxNewTokens: z.number().int().positive().default(48).describe('longest sampled response'),
    sampleBatchSize: z.number().int().positive().default(32).describe('responses generated per batch'),
    steps: z.number().int().positive().default(300).describe('full-batch AdamW steps of the value head (a linear head on the frozen reference policy\'s last hidden state at the prompt end; MSE to the sampled responses\' rewards)'),
    lr: z.number().positive().default(0.01).describe('learning rate of the value head'),
  })
  .strict();

export const AlolConfigSchema = z
  .object({
    variant: z
      .enum(['alol', 'seq', 'ref-free', 'kl'])
      .default('alol')
      .describe("'alol' = A·clip(π_θ/π_ref, 1±ε)·NLL with one sequence ratio; 'seq' = per-token ratios; 'ref-free' = A·NLL (ratio 1); 'kl' = A·NLL + β·(log π_θ − log π_ref)"),
    clip: z.number().positive().max(1).default(0.9).describe('ε: the detached importance ratio is clipped to [1 − ε, 1 + ε] (alol, seq; LoL-RL: 0.9)'),
    beta: z.number().min(0).default(0.2).describe('β of the kl variant (LoL-RL: 0.2)'),
    costWeight: z.number().min(0).default(0).describe('ν: the reward of a response is r − ν·c (0 = the paper\'s reward-only A-LoL; > 0 needs a cost model)'),
    value: AlolValueSchema.prefault({}).describe('the value estimate V(x) of the reference policy; the advantage is A = R(x, y) − V(x), and only A > 0 is trained on'),
    epochs: z.number().positive().default(1).describe('passes over the responses with a positive advantage (batches are drawn with probability ∝ A, as LoL-RL\'s advantage-priority sampling)'),
    batchSize: z.number().int().positive().default(16).describe('responses per optimiser step'),
    maxLength: z.number().int().positive().default(96).describe('truncate prompt+response to this many tokens (the response end is cut)'),
    optim: withDefaults(OptimSchema, { lr: 1e-4, schedule: 'constant', warmupRatio: 0 }).describe('optimiser (LoL-RL: constant schedule)'),
    checkpointEvery: z.number().int().positive().default(100).describe('steps between resumable checkpoints'),
    seed: z.number().int().default(0).describe('seed of the value prompts, the sampling and the batch draws'),
  })
  .strict();
export type AlolConfig = z.output<typeof AlolConfigSchema>;
export type AlolValueConfig = z.output<typeof AlolValueSchema>;
