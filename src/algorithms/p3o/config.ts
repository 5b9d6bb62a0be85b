// P3O's settings (β of the KL folded into the reward, the clipping variant): shared by the pipeline and `train p3o`.
import { z } from 'zod';

export const P3oSchema = z
  .object({
    klCoef: z.number().min(0).default(0.05).describe('β of the KL to the reference folded into the reward: r̃ = R − β·Σ_t (log π_old − log π_ref)'),
    clip: z
      .enum(['separate', 'joint'])
      .default('separate')
      .describe(
        "how the trajectory ratios are clipped at rl.clipRange: 'separate' = each response's ratio ρ_i on its own with advantage ±(r̃_1 − r̃_2) (the paper's V1); 'joint' = the pair's ratio ρ_1/ρ_2 as one (V2)",
      ),
  })
  .strict();
export type P3oConfig = z.output<typeof P3oSchema>;
