// How an ensemble of reward (or cost) models becomes one score in RL: the reduction and its k and λ.
import { z } from 'zod';

export const EnsembleReduceSchema = z
  .object({
    reduce: z
      .enum(['mean', 'worst', 'uncertainty', 'robust'])
      .default('mean')
      .describe(
        "how the members' scores become one: 'mean'; 'worst' (reward: the lowest member, cost: the highest); 'uncertainty' (UP-RLHF: reward mean − k·std, cost mean + k·std over the members); 'robust' (reward-robust RLHF / BRME: λ·mean + (1 − λ)·worst)",
      ),
    k: z.number().min(0).default(1).describe("'uncertainty': weight k of the members' standard deviation"),
    lambda: z.number().min(0).max(1).default(0.5).describe("'robust': weight λ of the nominal (the members' mean); 1 − λ goes to the worst member"),
  })
  .strict();
