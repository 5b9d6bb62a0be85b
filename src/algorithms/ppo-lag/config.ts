// PPO-Lagrangian's multiplier settings (threshold d, λ init, learning rate, window, rule): shared by the pipeline and `train ppo-lag`.
import { z } from 'zod';

export const LagrangeSchema = z
  .object({
    threshold: z
      .number()
      .nullable()
      .default(null)
      .describe(
        'cost threshold d (keep J_c <= d). null = calibrate from the cost model: d = safeMean + thresholdQuantile·(unsafeMean - safeMean), the mean cost-model scores of the responses the annotators\' majority labelled safe / unsafe in the validation split (scoreValidation); never gold labels or test data',
      ),
    thresholdQuantile: z.number().min(0).max(1).default(0.03).describe('with threshold null: how far from the mean safe cost towards the mean unsafe cost (validation split) d sits: the unsafe share of answers the constraint tolerates'),
    init: z.number().positive().default(1).describe('initial λ'),
    lr: z.number().positive().default(0.1).describe('SGD learning rate of log λ'),
    window: z.number().int().positive().default(128).describe('episodes in the moving window of J_c'),
    max: z.number().positive().nullable().default(null).describe('upper bound on λ (null: none)'),
    delaySteps: z.number().int().min(0).default(0).describe('RL steps before λ starts to move'),
    perCategory: z
      .boolean()
      .default(false)
      .describe(
        "one λ per prompt harm category (J_c,k <= d over each category's own episodes; the prompt's category: the built-in world's risky topics; user prompt files carry none yet), each row's advantage combined with its category's λ; prompts without a category share one λ. false = one global λ (Safe RLHF)",
      ),
    rule: z
      .enum(['multiplicative', 'safe-rlhf'])
      .default('multiplicative')
      .describe(
        "SGD loss on log λ: 'multiplicative' = -(J_c - d)·log λ (λ changes by the factor e^(lr·(J_c - d)) per step); 'safe-rlhf' = -(J_c - d)·λ as in PKU safe-rlhf (step grows with λ: jumps and collapses)",
      ),
  })
  .strict();
