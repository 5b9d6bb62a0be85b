// Configuration of RLAIF labelling (`safealign label`): zod schema with defaults and descriptions.
import { z } from 'zod';
import { DeviceSchema } from '../config/device.js';

export const LabelConfigSchema = z
  .object({
    judge: z.string().default('').describe('the judge: an OpenAI-compatible base URL (http://host:port/v1) or a local model folder, served in-process like `safealign serve` (required)'),
    judgeModel: z.string().default('').describe("model id sent to the judge ('' = the first id of GET /v1/models)"),
    apiKey: z.string().default('').describe('API key for the judge (prefer SAFEALIGN_JUDGE_API_KEY or OPENAI_API_KEY: flags show in process lists)'),
    input: z.string().default('').describe('pairs to label: PKU-SafeRLHF JSONL or {prompt, response_0, response_1} per line (required)'),
    out: z.string().default('').describe('labelled PKU-SafeRLHF JSONL to write (required)'),
    cache: z.string().default('').describe("JSONL cache of judge answers keyed by a hash of the request ('' = <out>.cache.jsonl); a rerun re-asks nothing cached"),
    device: DeviceSchema,
    concurrency: z.number().int().min(1).max(256).default(8).describe('judge requests in flight at most'),
    temperature: z.number().min(0).max(2).default(0).describe('judge sampling temperature (0 = greedy)'),
    maxTokens: z.number().int().min(1).default(64).describe('most tokens per judge answer'),
    seed: z.number().int().default(0).describe('seed sent with every judge request'),
    retries: z.number().int().min(0).max(20).default(5).describe('retries of a request after a timeout, a network error, 408, 429, 5xx or an unreadable body'),
    retryBaseMs: z.number().min(0).default(500).describe('first retry delay; doubled every retry (with jitter), or the Retry-After the judge sends'),
    retryMaxMs: z.number().min(0).default(30_000).describe('longest delay between retries'),
    timeoutSec: z.number().positive().default(120).describe('a judge request not answered within this many seconds is retried'),
    limit: z.number().int().min(0).default(0).describe('label at most this many pairs (0 = all)'),
  })
  .strict();

export type LabelConfig = z.output<typeof LabelConfigSchema>;
