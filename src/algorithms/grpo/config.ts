// GRPO's settings (β of the k3 term, weight of the cost model in the reward, reward scaling): shared by the pipeline and `train grpo|safe-grpo`.
import { z } from 'zod';

export const GrpoSchema = z
  .object({
    klCoef: z.number().min(0).default(0.2).describe('β of the k3 KL to the reference in the token loss (TRL: 0 by default, 0.04 before; 0.2 from a sweep on the built-in world, README "Tuned defaults")'),
    costWeight: z
      .number()
      .min(0)
      .default(0)
      .describe('grpo: weight w of the negated cost model in the reward R − w·C (multi-objective GRPO; 0 = reward model alone). safe-grpo constrains the cost with λ instead'),
    combine: z
      .enum(['sum-then-normalise', 'normalise-then-sum'])
      .default('sum-then-normalise')
      .describe(
        "grpo with costWeight > 0: 'sum-then-normalise' = group advantage of R − w·C (GRPO); 'normalise-then-sum' = group z-scores of R and of C, A_R − w·A_C, z-scored over the batch (GDPO, TRL's multi-objective option; keeps distinct reward mixes apart, ignores scaleRewards)",
      ),
    scaleRewards: z
      .enum(['group', 'batch', 'none'])
      .default('group')
      .describe("how the group-centred scores are scaled (TRL's scale_rewards): by the std of the prompt's group, of the whole batch, or not at all (Dr. GRPO)"),
  })
  .strict();
export type GrpoConfig = z.output<typeof GrpoSchema>;
