// Settings shared by the RL trainers (PPO, PPO-Lagrangian, reward shaping, GRPO, safe GRPO, RLOO-Lagrangian).
import { z } from 'zod';
import { withDefaults } from '../../config/defaults.js';
import { LoraSchema } from '../common/lora-config.js';
import { OptimSchema } from '../common/optim-config.js';

export const RlConfigSchema = z
  .object({
    steps: z.number().int().positive().default(30).describe('RL steps (one rollout batch + PPO update each)'),
    promptsPerStep: z.number().int().positive().default(32).describe('prompts sampled per rollout'),
    samplesPerPrompt: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe('responses sampled per prompt (G): a rollout has promptsPerStep·G rows; the group methods (grpo, safe-grpo, rloo-lag) need G >= 2 and use the other samples of a prompt as the baseline'),
    maxNewTokens: z.number().int().positive().default(44).describe('longest response generated'),
    temperature: z.number().positive().default(1).describe('sampling temperature of rollouts'),
    topP: z.number().positive().max(1).default(1).describe('nucleus sampling of rollouts (1 = off)'),
    ppoEpochs: z.number().int().positive().default(1).describe('passes over each rollout batch'),
    miniBatchSize: z.number().int().positive().default(32).describe('sequences per PPO gradient step'),
    gamma: z.number().min(0).max(1).default(1).describe('discount of GAE'),
    gaeLambda: z.number().min(0).max(1).default(0.95).describe('λ of GAE'),
    clipRange: z.number().positive().default(0.2).describe('PPO ratio clip ε (ε_low when clipRangeHigh is set)'),
    clipRangeHigh: z.number().positive().nullable().default(null).describe('upper ratio clip ε_high (DAPO\'s clip-higher, e.g. 0.28); null = clipRange'),
    valueClip: z.number().positive().default(5).describe('critic value clip around the rollout values'),
    scoreClip: z.number().positive().default(50).describe('clamp sequence rewards/costs to ±this'),
    whitenAdvantages: z.boolean().default(true).describe('PPO-max trick: whiten actor advantages per batch'),
    rewardNormalization: z
      .enum(['none', 'affine', 'scale'])
      .default('none')
      .describe("PPO-max: normalise end rewards by running statistics of every reward seen, 'affine' (r − μ)/σ (MOSS-RLHF) or 'scale' r/σ; 'none' = off (safe-rlhf)"),
    costNormalization: z.enum(['none', 'scale']).default('none').describe("PPO-max for the cost: 'scale' = c/σ by running statistics in the cost stream's scores (never shifted, so the safe/unsafe zero survives; λ's J_c and d stay in the cost model's units); 'none' = off"),
    normalizedScoreClip: z.number().positive().nullable().default(null).describe('PPO-max: clip normalised rewards/costs to ±this (MOSS-RLHF: 10 for rewards); null = no clip; applies only where normalisation is on'),
    advantageClip: z.number().positive().nullable().default(null).describe('PPO-max: clip the actor advantages to ±this after whitening (MOSS-RLHF: 0.5); null = off'),
    entropyCoef: z
      .number()
      .min(0)
      .default(0)
      .describe("PPO-max / PPO's entropy bonus: the actor loss subtracts entropyCoef · H(π_θ), the entropy of the actor's whole next-token distribution at each response token, averaged as lossAggregation (keeps the policy from collapsing onto one answer; e.g. 0.01); 0 = off"),
    criticWarmupSteps: z.number().int().min(0).default(0).describe('PPO-max: first RL steps in which only the critics learn (the actor is frozen while its critics fit the SFT policy\'s returns); needs a critic-based method; 0 = off'),
    lossAggregation: z
      .enum(['token', 'per-sequence', 'max-length'])
      .default('token')
      .describe(
        "how the PPO actor and critic losses average over response tokens: 'token' = mean over all response tokens of the batch (TRL, DAPO), 'per-sequence' = mean within each response, then over responses (PKU safe-rlhf's masked_mean; TRL's GRPO 'grpo'), 'max-length' = sum over tokens / (responses · maxNewTokens) (TRL's 'dr_grpo'; 'token' is TRL's 'bnpo'/'dapo'). Default 'token': per-sequence averaging gives each token of a short response more weight than a token of a long one (the length bias Dr. GRPO and DAPO discuss); the token mean weighs every token the same. The PTX loss is a token mean in both (as safe-rlhf's, the language-model loss)",
      ),
    ptxCoef: z.number().min(0).default(0).describe('weight of the SFT (PTX) loss added to the actor loss; 0 = off'),
    actorOptim: withDefaults(OptimSchema, { lr: 2e-4, warmupRatio: 0, schedule: 'constant', weightDecay: 0 }).describe('actor optimiser'),
    criticOptim: withDefaults(OptimSchema, { lr: 1e-3, warmupRatio: 0, schedule: 'constant', weightDecay: 0 }).describe('critic optimiser'),
    diversitySample: z
      .number()
      .int()
      .min(0)
      .default(64)
      .describe("rollouts per step whose self-BLEU and pairwise ROUGE-L are logged (an even spread over the batch; their cost grows with its square); distinct-1/2 read all rollouts; 0 = no text diversity in the log"),
    embeddingDiversityEvery: z
      .number()
      .int()
      .min(0)
      .default(10)
      .describe("every this many steps (and at the last), log the embedding diversity of the step's rollouts: mean pairwise cosine distance of their mean-pooled hidden states under the frozen reference model (one forward pass over the responses); 0 = off"),
    checkpointEvery: z.number().int().positive().default(10).describe('steps between resumable checkpoints'),
    seed: z.number().int().default(0).describe('seed of prompt sampling and rollouts'),
    actorLora: LoraSchema.optional().describe('LoRA adapters on the actor instead of full fine-tuning (give any field, e.g. --rl-actor-lora-r 8, to turn it on): the adapter is written to <out>/adapter in peft layout and merged into the actor'),
    criticLora: LoraSchema.optional().describe('LoRA adapters on the critics (their value heads train in full); merged at the end'),
    freezeVisionTower: z
      .boolean()
      .default(true)
      .describe("image prompts (LLaVA models): keep the actor's and critics' vision towers frozen (no gradient, no optimiser state; the projector and language model learn), so one pass of each distinct tower per rollout serves every model; false = the towers learn too (their states are then recomputed per pass)"),
  })
  .strict();
export type RlConfig = z.output<typeof RlConfigSchema>;

/** What every PPO-family method needs for its score streams; β is per method (it sets the method's reach). */
export interface KlShapingConfig {
  /** β of the per-token KL penalty against the reference (SFT) model. */
  klCoef: number;
  /** Clamp sequence rewards/costs to ±this. */
  scoreClip: number;
}
