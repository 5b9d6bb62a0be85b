// Configuration of the OpenAI-compatible server (`safealign serve`): zod schema with defaults and descriptions.
import { z } from 'zod';
import { DeviceSchema } from '../config/device.js';
import { VerbalizedAttemptsSchema, VerbalizedKSchema } from '../models/verbalized.js';

export const GuardConfigSchema = z
  .object({
    cost: z
      .string()
      .default('')
      .describe("cost model folder that scores every answer (score above --guard-threshold = flagged); an image + text (LLaVA) cost model for an image + text --model, which reads each answer with the request's picture; '' = none"),
    threshold: z.number().default(0).describe("an answer whose cost score is above this is flagged (0: the cost model's safe/unsafe boundary)"),
    severity: z
      .string()
      .default('')
      .describe("severity classifier folder (safealign train cost --cost-data severity) that predicts every answer's severity (safe, minor, moderate, severe); above --guard-max-severity = flagged; the multimodal pipeline's severity/model for an image + text --model; alone or with --guard-cost (flagged by either); '' = none"),
    maxSeverity: z.enum(['safe', 'minor', 'moderate']).default('minor').describe('the highest predicted severity let through by --guard-severity (minor: moderate and severe answers are flagged)'),
    rounds: z.number().int().min(0).max(20).default(5).describe('regenerations of a flagged answer before the refusal is returned (0 = refuse at once)'),
    refusal: z.string().default('Sorry, I cannot help with that request.').describe('the answer returned when every round was flagged'),
    log: z.string().default('').describe("append each guarded request's decision and scores as a JSON line to this file ('' = standard error)"),
  })
  .strict();

export const ServeConfigSchema = z
  .object({
    model: z
      .string()
      .default('')
      .describe('Hugging Face model folder to serve: a causal LM, or an image + text (LLaVA) model with preprocessor_config.json, with tokenizer.json (required)'),
    modelName: z.string().default('').describe('the model id clients pass and /v1/models lists (default: the folder name)'),
    host: z.string().default('127.0.0.1').describe('address to listen on (0.0.0.0 for every interface)'),
    port: z.number().int().min(0).max(65535).default(8000).describe('port to listen on (0 = any free port)'),
    apiKey: z
      .array(z.string().min(8, 'an API key needs at least 8 characters'))
      .default([])
      .describe('accepted API key(s), sent as Authorization: Bearer KEY; prefer --api-keys-file or SAFEALIGN_API_KEY, as flags show in process lists'),
    apiKeysFile: z.string().default('').describe('file with one accepted API key per line (# starts a comment)'),
    batching: z.boolean().default(true).describe('decode concurrent requests together in shared forward passes (continuous batching); --no-batching decodes one sequence at a time'),
    maxBatch: z.number().int().min(1).max(1024).default(16).describe('most sequences decoded together'),
    maxQueue: z.number().int().min(0).default(256).describe('most sequences waiting for a batch slot; a request beyond that gets 429'),
    maxBodyBytes: z.number().int().min(1024).default(1024 * 1024).describe('largest request body in bytes; larger get 413 (an inline image counts at 4/3 of its size, base64)'),
    maxImagePixels: z
      .number()
      .int()
      .min(1)
      .default(2048 * 2048)
      .describe("largest image (width x height, read from its header before decoding) an image + text model accepts; larger get 400 (a decompression bomb's pixels are never decoded)"),
    maxTokens: z.number().int().min(1).default(512).describe("most tokens a request may ask for (max_tokens), and the budget of one that does not say (cut to the model's context)"),
    maxN: z.number().int().min(1).max(128).default(8).describe('most choices (n) per request'),
    maxConnections: z.number().int().min(1).default(512).describe('open connections at most; further ones are closed at once'),
    maxRequestsPerClient: z.number().int().min(1).default(64).describe('requests in progress per client address (the socket peer; X-Forwarded-For is not trusted); more get 429'),
    requestTimeoutSec: z.number().positive().default(30).describe('a request must arrive whole (headers and body) within this many seconds, or it gets 408 and the connection is closed'),
    headersTimeoutSec: z.number().positive().default(10).describe('request headers must arrive within this many seconds'),
    device: DeviceSchema,
    threads: z.number().int().min(0).default(0).describe('libtorch threads (0: SAFEALIGN_THREADS, else every core)'),
    log: z.boolean().default(false).describe('log every request (JSON lines on standard error)'),
    verbalized: VerbalizedKSchema.describe('verbalized sampling on /v1/chat/completions (a request\'s "verbalized": k overrides, 0 turns it off): the user\'s message asks for k answers with probabilities, the list is parsed (malformed lists are regenerated, never guessed) and one answer drawn from it is returned, the list in the choice\'s safealign_verbalized field; 0 = off'),
    verbalizedAttempts: VerbalizedAttemptsSchema.describe('with verbalized sampling: generations tried per choice until one is a well-formed list; then the request fails with 502 and every problem'),
    guard: GuardConfigSchema.default(GuardConfigSchema.parse({})),
  })
  .strict();

export type ServeConfig = z.output<typeof ServeConfigSchema>;
export type GuardConfig = z.output<typeof GuardConfigSchema>;
