// The optional LoRA section of a trainer's config (sft.lora, score.lora, rl.actorLora, rl.criticLora): absent = full fine-tuning.
import { z } from 'zod';

export const LoraSchema = z
  .object({
    r: z.number().int().positive().default(8).describe('rank of the adapter matrices A (r, in) and B (out, r); giving any field of this LoRA section turns LoRA on (without: full fine-tuning)'),
    alpha: z.number().positive().default(16).describe('the adapter output is scaled by alpha / r (peft lora_alpha)'),
    dropout: z.number().min(0).max(0.9).default(0.05).describe("dropout on the adapter's input while training"),
    targetModules: z
      .array(z.string())
      .optional()
      .describe("names of the projections to adapt, e.g. c_attn,c_proj,c_fc or q_proj,k_proj,v_proj,o_proj (default: peft's for the family: c_attn for GPT-2, q_proj,v_proj for Llama)"),
  })
  .strict();
export type LoraConfig = z.output<typeof LoraSchema>;
