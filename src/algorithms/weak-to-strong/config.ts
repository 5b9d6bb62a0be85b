// Weak-to-strong reward models (Burns et al. 2023): the student's training on weak labels, with or without the auxiliary confidence loss.
import { z } from 'zod';
import { ScoreConfigSchema } from '../score/config.js';

export const WeakLabelTrainingSchema = z
  .object({
    auxCoef: z.number().min(0).max(1).default(0.75).describe('α: weight of the student\'s own hardened predictions in the target, (1 − α)·weak + α·hard (0 = train on the weak labels alone; Burns et al.: 0.75 for large students, 0.5 in the released code)'),
    warmupFrac: z.number().min(0).max(1).default(0.2).describe('α ramps linearly from 0 over this share of training (the paper; the released code keeps α·step_frac until warmup_frac, then jumps)'),
    labels: z.enum(['soft', 'hard']).default('soft').describe("the weak labels: 'soft' = the weak model's P(response 0 better) = σ(r_0 − r_1), as the released code trains; 'hard' = rounded to 0/1"),
    score: ScoreConfigSchema.prefault({}).describe('the student\'s training (epochs, batch, optimiser; its regularisation is not used: the loss is the cross-entropy)'),
  })
  .strict();
export type WeakLabelTraining = z.output<typeof WeakLabelTrainingSchema>;
