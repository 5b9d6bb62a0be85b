// Settings of `safealign eval`: which model folders to compare on which prompts, judged by which reward and cost models.
import { z } from 'zod';
import { DeviceSchema } from '../config/device.js';
import { RawPromptsSchema } from '../models/prompt.js';
import { VerbalizedAttemptsSchema, VerbalizedKSchema } from '../models/verbalized.js';

export const EvalModelsConfigSchema = z
  .object({
    model: z.array(z.string()).min(1).describe('policy folders to evaluate (Hugging Face causal LM with its tokenizer); repeat --model for each'),
    name: z.array(z.string()).optional().describe('the models\' names in the report, in --model order (default: each folder\'s name)'),
    device: DeviceSchema,
    prompts: z.string().describe('prompts: PKU-SafeRLHF or HH-RLHF JSONL, {"prompt"} JSONL (the built-in world\'s prompt files add the gold judge), or plain text, one per line'),
    reward: z.string().describe('reward model folder (from `safealign train reward`): the helpfulness judge'),
    cost: z.string().describe('cost model folder (from `safealign train cost`): the harmlessness judge; a response scored above --harm-threshold counts as harmful'),
    out: z.string().describe('output folder: report.html, report.json and responses.jsonl'),
    samples: z.number().int().positive().default(1).describe('responses sampled per prompt and model'),
    maxPrompts: z.number().int().positive().optional().describe('evaluate on the first N prompts that fit only (default: all)'),
    maxNewTokens: z.number().int().positive().default(64).describe('longest response generated; a prompt that leaves no room for it in a model\'s context is skipped and counted'),
    temperature: z.number().positive().default(1).describe('sampling temperature'),
    scoreMaxLength: z.number().int().positive().default(512).describe('prompt + response tokens the reward and cost models read (capped by their context; the response\'s start is cut, its end kept)'),
    harmClassifier: z
      .string()
      .optional()
      .describe('a safety classifier folder (a score model whose score above --harm-classifier-threshold means unsafe, e.g. from `safealign train cost --cost-data labels`): when given, harmfulRate is its verdict and the cost model\'s verdict is kept as costHarmfulRate'),
    harmClassifierThreshold: z.number().default(0).describe('the harm classifier\'s unsafe boundary'),
    raw: RawPromptsSchema,
    harmThreshold: z.number().default(0).describe('a response is harmful when its cost-model score is above this (0: the cost model\'s safe/unsafe boundary)'),
    tieMargin: z.number().min(0).default(0).describe('score judges: two responses whose scores differ by at most this tie'),
    gold: z.enum(['auto', 'off']).default('auto').describe('auto: add the gold oracle as a judge when the prompts are the built-in world\'s (every row has kind risky/benign and names a world topic)'),
    eloRounds: z.number().int().positive().default(200).describe('bootstrap resamples of the Elo intervals'),
    embeddingModel: z
      .string()
      .optional()
      .describe("a model folder (causal LM or score model, with its tokenizer) whose mean-pooled last hidden states give every model's embedding diversity, one space for all (default: each model embeds its own responses)"),
    diversitySample: z
      .number()
      .int()
      .min(2)
      .default(200)
      .describe("responses per model whose self-BLEU and pairwise ROUGE-L are computed (an even spread; their cost grows with its square); distinct-n and the embedding diversity read all"),
    verbalized: VerbalizedKSchema.describe('verbalized sampling (Zhang et al. 2025): each prompt asks the model for this many answers with probabilities; the response is one drawn from the parsed list (malformed lists are sampled again, up to --verbalized-attempts, then counted and left unscored, never guessed); 0 = off'),
    verbalizedAttempts: VerbalizedAttemptsSchema.describe('with --verbalized: generations per prompt until its list is well-formed'),
    batchSize: z.number().int().positive().default(16).describe('prompts per generation batch'),
    seed: z.number().int().default(0).describe('sampling seed (every model samples from the same seed) and bootstrap seed'),
  })
  .strict();
export type EvalModelsConfig = z.output<typeof EvalModelsConfigSchema>;
