// HC-RLHF's settings (Chittepu et al. 2025): the candidate/safety split, δ, the inflation constants and the candidate's optimiser.
import { z } from 'zod';

export const HcRlhfSchema = z
  .object({
    delta: z.number().gt(0).lt(1).default(0.1).describe('δ: the returned model\'s expected cost exceeds τ with probability at most δ (HC-RLHF: 0.1)'),
    safetyFraction: z.number().gt(0).lt(1).default(0.5).describe('share of the prompts held out as the safety set (one response per prompt, n_s of them); the rest train the candidate'),
    c1: z.number().min(0).default(1).describe('C1 of the inflation k = C1·t_{1−δ,n_b−1}/√n_b + C2·t_{1−δ,n_s−1}/√n_s (n_b: the Lagrange window, the costs J_c is estimated on)'),
    c2: z.number().min(0).default(1).describe('C2 of the inflation k: how much of the safety test\'s margin the candidate anticipates'),
    candidate: z
      .enum(['rloo-lag', 'ppo-lag'])
      .default('rloo-lag')
      .describe("the candidate's optimiser against J_c = c̄ + k·ŝ <= τ: 'rloo-lag' (HC-RLHF's, critic-free: needs rl.samplesPerPrompt >= 2) or 'ppo-lag' (critics from the score models)"),
  })
  .strict();
export type HcRlhfConfig = z.output<typeof HcRlhfSchema>;

/** The exit status of `safealign train hc-rlhf` when the safety test fails: no solution found (no model returned). */
export const NO_SOLUTION_EXIT_CODE = 3;
