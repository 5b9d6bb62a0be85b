// MiCRo training config: K reward heads and a prompt router on one backbone (stage 1), Hedge routing per annotator (stage 2).
import { z } from 'zod';
import { withDefaults } from '../../config/defaults.js';
import { OptimSchema } from '../common/optim-config.js';

export const MicroConfigSchema = z
  .object({
    heads: z.number().int().min(1).default(4).describe('K: reward heads of the mixture (1 = a single Bradley-Terry model trained the same way: the baseline)'),
    likelihood: z
      .enum(['annotator', 'pair'])
      .default('annotator')
      .describe(
        "stage 1's likelihood: 'pair' = the paper's per-pair mixture Σ_k w_k(x)·σ(Δ_k) with the prompt router; 'annotator' = the same heads and router as a latent class per annotator, Σ_k π_k·Π_b σ(Δ_k,b) over batches of one annotator's labels (tastes that belong to people rather than prompts are not identifiable per pair: a per-pair mixture of Bradley–Terry terms is matched by one head)",
      ),
    epochs: z.number().positive().default(1).describe('passes over the annotator-labelled pairs (one per annotator label)'),
    batchSize: z.number().int().positive().default(32).describe('labelled pairs per optimiser step'),
    maxLength: z.number().int().positive().default(96).describe('truncate prompt+response to this many tokens (the response start is cut)'),
    regularization: z.number().min(0).default(0.001).describe("L2 penalty on every head's scores: reg * mean(score^2)"),
    optim: withDefaults(OptimSchema, { lr: 1e-3 }).describe('optimiser'),
    checkpointEvery: z.number().int().positive().default(200).describe('steps between resumable checkpoints'),
    seed: z.number().int().default(0).describe('seed of the heads, the router and the shuffling'),
    routing: z
      .object({
        pairs: z.number().int().min(0).default(20).describe("stage 2: labelled pairs of each annotator that Hedge routes on (its first ones in the data); 0 = the prompt router alone"),
        eta: z.number().min(0).default(1).describe("Hedge's learning rate η: w ∝ router(x) · exp(−η · Σ per-head log-loss on the annotator's pairs)"),
      })
      .strict()
      .prefault({})
      .describe("stage 2: each annotator's mixture weights, adapted from the router's by Hedge on a few of its labelled pairs"),
  })
  .strict();
export type MicroConfig = z.output<typeof MicroConfigSchema>;
