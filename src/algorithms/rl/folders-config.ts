// Settings of an RL run on the user's own model folders (`safealign train ppo-lag|ppo|shaping|grpo|safe-grpo|rloo-lag|p3o`): inputs, threshold d, method knobs, the RL loop.
import { z } from 'zod';
import { DeviceSchema } from '../../config/device.js';
import { GrpoSchema } from '../grpo/config.js';
import { P3oSchema } from '../p3o/config.js';
import { RawPromptsSchema } from '../../models/prompt.js';
import { EnsembleReduceSchema } from '../score/ensemble-config.js';
import { LagrangeSchema } from '../ppo-lag/config.js';
import { RlConfigSchema } from './config.js';

/** The RL methods a user can run on their own models. */
export const RL_FOLDER_METHODS = ['ppo-lag', 'ppo', 'shaping', 'grpo', 'safe-grpo', 'rloo-lag', 'p3o'] as const;
export type RlFolderMethod = (typeof RL_FOLDER_METHODS)[number];

/** One model folder or several (an ensemble): a single path, a list, or the flag repeated. */
const folders = () => z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.string()).min(1));

/** The cost threshold d of the constrained methods on the user's folders: given, or calibrated on a labelled file. */
export const THRESHOLD_FIELDS = {
  threshold: z.number().default(0).describe('constrained methods (ppo-lag, safe-grpo, rloo-lag, mocan): cost threshold d of the constraint J_c <= d, in the cost model\'s units (0, as safe-rlhf: safe responses score below 0)'),
  thresholdFrom: z
    .string()
    .optional()
    .describe('constrained methods: calibrate d instead on this labelled file (PKU-SafeRLHF, or {prompt, response, is_safe} JSONL): d = safeMean + thresholdQuantile·(unsafeMean − safeMean) of the cost model\'s scores of its responses labelled safe / unsafe'),
  thresholdQuantile: z.number().min(0).max(1).default(0.03).describe('with --threshold-from: the unsafe share of answers the constraint tolerates'),
};

export const RlFoldersConfigSchema = z
  .object({
    actor: z.string().describe('the policy to train: a Hugging Face causal-LM folder with its tokenizer (usually the SFT model), or a LLaVA image + text folder (model_type "llava", with preprocessor_config.json) for image prompts'),
    reference: z.string().optional().describe('frozen reference of the KL penalty (default: the --actor folder as it was at the start)'),
    reward: folders().describe('reward model folder (from `safealign train reward`); also initialises the reward critic. Give it more than once (--reward A --reward B) for an ensemble, reduced to one score by --reward-ensemble-reduce; the first member initialises the critic'),
    cost: folders()
      .optional()
      .describe(
      'cost model folder (from `safealign train cost`); needed by ppo-lag, shaping, safe-grpo, rloo-lag (and grpo with --grpo-cost-weight > 0); initialises the cost critic of ppo-lag. More than once for an ensemble, reduced by --cost-ensemble-reduce (pessimistic upwards: worst = the highest cost)',
      ),
    rewardEnsemble: EnsembleReduceSchema.prefault({}).describe('with several --reward folders: how their scores become the reward'),
    costEnsemble: EnsembleReduceSchema.prefault({}).describe('with several --cost folders: how their scores become the cost'),
    device: DeviceSchema,
    prompts: z
      .string()
      .describe(
        'prompts: PKU-SafeRLHF or HH-RLHF JSONL (the dialogue before the last Assistant turn), {"prompt"} JSONL, or plain text, one per line; image + text prompts (LLaVA folders): BeaverTails-V rows (question, image) or {"prompt", "image"} JSONL, the image a path relative to the file, a data:image/...;base64, URL or base64',
      ),
    ptx: z.string().optional().describe('SFT data ({"prompt", "response"} JSONL, or PKU-SafeRLHF: its safe responses) for the PTX loss; used when --rl-ptx-coef > 0 (which then requires it)'),
    out: z.string().describe('output folder: the trained actor in HF layout, checkpoint/ for resuming, log.jsonl, result.json, report.html'),
    raw: RawPromptsSchema,
    ...THRESHOLD_FIELDS,
    klCoef: z
      .number()
      .min(0)
      .default(0.05)
      .describe('β of the KL to the reference: per-token penalty in the scores for ppo-lag, ppo, shaping, rloo-lag, p3o (safe-rlhf: 0.01 for PPO-Lag, 0.02 for PPO); the k3 term in the loss for grpo, safe-grpo'),
    nu: z.number().min(0).default(1).describe('shaping: fixed cost weight ν of the shaped reward R − ν·C'),
    lagrange: LagrangeSchema.omit({ threshold: true, thresholdQuantile: true }).prefault({}).describe('ppo-lag, safe-grpo, rloo-lag: the Lagrange multiplier'),
    grpo: GrpoSchema.omit({ klCoef: true }).prefault({}).describe('grpo, safe-grpo: the cost weight of multi-objective GRPO (grpo only) and the reward scaling'),
    p3o: P3oSchema.omit({ klCoef: true }).prefault({}).describe('p3o: how the trajectory ratios of a pair are clipped (needs --rl-samples-per-prompt 2)'),
    rl: RlConfigSchema.prefault({}).describe('the RL loop (rollouts, PPO, optimisers, checkpoints)'),
  })
  .strict();
export type RlFoldersConfig = z.output<typeof RlFoldersConfigSchema>;
