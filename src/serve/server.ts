// The OpenAI-compatible HTTP server (fastify): API keys, size/time/connection limits, per-client limits, health, metrics, and the /v1 routes.
import { useDevice } from '../config/device.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { ConfigError } from '../config/schema-cli.js';
import { ImageInputError, imageTokensOf, scoreHeadOf, type ScoringModel } from '../algorithms/common/model-input.js';
import { isLlavaFolder } from '../algorithms/rl/folders.js';
import { readsImages, type PolicyModel } from '../algorithms/rl/images.js';
import { scorer } from '../eval/evaluate-models.js';
import { CausalLM } from '../models/causal-lm.js';
import type { GenerationConfig } from '../models/hf-config.js';
import { loadPretrained, readGenerationConfig } from '../models/hf.js';
import { loadLlava, loadLlavaScoreModel } from '../models/hf-vision.js';
import type { ImageProcessorConfig } from '../models/image-processor.js';
import type { ImageTokens } from '../models/prompt.js';
import { ScoreModel } from '../models/score-model.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { setNumThreads } from '../torch/index.js';
import { Batcher } from './batcher.js';
import type { ServeConfig } from './config.js';
import { Guard, type GuardJudge, type GuardJudges } from './guard.js';
import { Metrics } from './metrics.js';
import { ApiError } from './openai-schema.js';
import { openAiRoutes } from './routes.js';

/** What the routes share: the model, its tokenizer, the batcher, the guard, the counters. */
export interface ServeContext {
  config: ServeConfig;
  modelName: string;
  /** A causal LM, or an image + text (LLaVA) model. */
  model: PolicyModel;
  tokenizer: Tokenizer;
  /** An image + text model: how a request's image becomes its pixel values, and the image tokens its prompt carries. */
  image?: { processor: ImageProcessorConfig; tokens: ImageTokens };
  batcher: Batcher;
  guard: Guard | undefined;
  metrics: Metrics;
  /** Unix seconds the server started (the model's `created`). */
  started: number;
}

/** Reads the API keys: --api-key values and the lines of --api-keys-file (blank lines and # comments skipped). */
export function readApiKeys(config: Pick<ServeConfig, 'apiKey' | 'apiKeysFile'>): string[] {
  const keys = [...config.apiKey];
  if (config.apiKeysFile) {
    let text: string;
    try {
      text = readFileSync(config.apiKeysFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`--api-keys-file ${config.apiKeysFile}: cannot read (${(e as Error).message})`);
    }
    text.split(/\r?\n/).forEach((line, i) => {
      const key = line.replace(/#.*/, '').trim();
      if (!key) return;
      if (key.length < 8) throw new ConfigError(`${config.apiKeysFile}:${i + 1}: an API key needs at least 8 characters`);
      keys.push(key);
    });
  }
  return keys;
}

/** Constant-time check of a bearer token against the accepted keys (compared as SHA-256 digests, so lengths leak nothing). */
function keyChecker(keys: readonly string[]): (header: string | undefined) => boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const accepted = keys.map(digest);
  return (header) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return false;
    const given = digest(m[1] as string);
    let ok = false;
    for (const k of accepted) ok = timingSafeEqual(k, given) || ok;
    return ok;
  };
}

/** The image tokens of an image + text model and its tokenizer; a tokenizer without the image token is an error naming `flag`. */
function imageTokensAt(flag: string, dir: string, model: unknown, tokenizer: Tokenizer): ImageTokens | undefined {
  try {
    return imageTokensOf(model, tokenizer);
  } catch (e) {
    if (e instanceof ImageInputError) throw new ConfigError(`${flag} ${dir}: ${e.message}`);
    throw e;
  }
}

/** A cost model folder of the guard (`flag`): a text score model, or an image + text (LLaVA) one with its image processor. */
function guardJudge(dir: string, flag: string): GuardJudge & { model: ScoringModel } {
  if (!isLlavaFolder(dir)) {
    const judge = scorer(dir, 'cost', Number.MAX_SAFE_INTEGER);
    if (!(judge.model instanceof ScoreModel)) throw new ConfigError(`${flag} ${dir}: expected a cost model folder`);
    return { ...judge, model: judge.model };
  }
  const { model, tokenizer, imageProcessor } = loadLlavaScoreModel(dir);
  const type = model.languageModel.scoreType;
  if (type !== 'cost') throw new ConfigError(`${flag} ${dir}: expected a cost model, found a ${type} model`);
  if (!tokenizer) throw new ConfigError(`${flag} ${dir}: no tokenizer.json; the guard reads answers with its model's own tokenizer`);
  if (!imageProcessor) throw new ConfigError(`${flag} ${dir}: an image + text cost model without preprocessor_config.json, which says how a picture becomes its pixel values`);
  imageTokensAt(flag, dir, model, tokenizer);
  return { model, tokenizer, maxLength: model.contextLength, imageProcessor };
}

/** The guard's severity classifier: a cost model folder with an ordinal head. */
function severityJudge(dir: string): NonNullable<GuardJudges['severity']> {
  const judge = guardJudge(dir, '--guard-severity');
  if (scoreHeadOf(judge.model).ordinalLevels < 2) {
    throw new ConfigError(`--guard-severity ${dir}: a cost model without a severity head; train one with \`safealign train cost --cost-data severity\``);
  }
  return judge;
}

/**
 * The guard's models, each reading what the served model reads: an image + text model needs image + text judges (a text
 * judge would score its answers without the picture they answer), a text model text judges.
 */
function loadGuard(config: ServeConfig, modelReadsImages: boolean): Guard | undefined {
  const { cost, severity } = config.guard;
  const judges: GuardJudges = { ...(cost ? { cost: guardJudge(cost, '--guard-cost') } : {}), ...(severity ? { severity: severityJudge(severity) } : {}) };
  for (const [flag, dir, judge] of [['--guard-cost', cost, judges.cost], ['--guard-severity', severity, judges.severity]] as const) {
    if (!judge || readsImages(judge.model) === modelReadsImages) continue;
    throw new ConfigError(
      modelReadsImages
        ? `${flag} ${dir}: a text cost model cannot guard the image + text --model ${config.model}: it would judge each answer without the picture it answers; give an image + text (LLaVA) cost model (pipeline --world multimodal writes <run>/cost/model and <run>/severity/model)`
        : `${flag} ${dir}: an image + text (LLaVA) cost model, but --model ${config.model} reads text only; give a text cost model (safealign train cost)`,
    );
  }
  return cost || severity ? new Guard(judges, config.guard) : undefined;
}

/** The served model of `dir`: a causal LM, or an image + text (LLaVA) model with its image processor and image tokens. */
function loadServedModel(dir: string): { model: PolicyModel; tokenizer: Tokenizer; generationConfig?: GenerationConfig | undefined; image?: ServeContext['image'] } {
  if (isLlavaFolder(dir)) {
    const { model, tokenizer, imageProcessor } = loadLlava(dir);
    if (!tokenizer) throw new ConfigError(`--model ${dir}: no tokenizer.json; the server needs the model's tokenizer`);
    if (!imageProcessor) throw new ConfigError(`--model ${dir}: an image + text (LLaVA) model without preprocessor_config.json, which says how a picture becomes its pixel values; add one (pipeline --world multimodal writes it)`);
    const tokens = imageTokensAt('--model', dir, model, tokenizer) as ImageTokens;
    return { model, tokenizer, generationConfig: readGenerationConfig(dir), image: { processor: imageProcessor, tokens } };
  }
  const { model, tokenizer, generationConfig } = loadPretrained(dir);
  if (!(model instanceof CausalLM)) throw new ConfigError(`--model ${dir}: expected a causal LM folder, found a ${model.scoreType} model`);
  if (!tokenizer) throw new ConfigError(`--model ${dir}: no tokenizer.json; the server needs the model's tokenizer`);
  return { model, tokenizer, generationConfig };
}

/** Loads the model (and the guard's models) of `config` and builds the context the routes share. */
export function loadServeContext(config: ServeConfig): ServeContext {
  useDevice(config.device); // the models this loads go there
  if (!config.model) throw new ConfigError('--model: required (a Hugging Face model folder with tokenizer.json)');
  if (config.threads > 0) setNumThreads(config.threads);
  const loaded = loadServedModel(config.model);
  const { model, tokenizer, image } = loaded;
  // a sequence ends at the tokenizer's EOS and at every eos_token_id of generation_config.json (chat models often list their end-of-turn token there)
  const fromGeneration = loaded.generationConfig?.eos_token_id ?? [];
  const stopTokenIds = [...new Set([...(tokenizer.eosId === undefined ? [] : [tokenizer.eosId]), ...(Array.isArray(fromGeneration) ? fromGeneration : [fromGeneration])])];
  // the guard's models are checked before the batcher's loop starts
  const guard = loadGuard(config, readsImages(model));
  const batcher = new Batcher(model, { maxBatch: config.batching ? config.maxBatch : 1, maxWaiting: config.maxQueue, stopTokenIds, padId: tokenizer.padId ?? 0 });
  return { config, modelName: config.modelName || basename(resolve(config.model)), model, tokenizer, ...(image ? { image } : {}), batcher, guard, metrics: new Metrics(), started: Math.floor(Date.now() / 1000) };
}

/**
 * Creates the server without listening. The node http server underneath enforces the connection
 * limit and the header and request timeouts (a slow client's request is cut with 408); fastify
 * enforces the body limit (413). Clients are told apart by their socket address only.
 */
export async function createServeApp(ctx: ServeContext): Promise<FastifyInstance> {
  const { config, metrics } = ctx;
  const app = Fastify({
    logger: config.log,
    bodyLimit: config.maxBodyBytes,
    trustProxy: false,
    serverFactory: (handler) => {
      const server = createServer(
        {
          requestTimeout: config.requestTimeoutSec * 1000,
          headersTimeout: Math.min(config.headersTimeoutSec, config.requestTimeoutSec) * 1000,
          // how often node looks for requests past their timeouts
          connectionsCheckingInterval: Math.min(1000, config.headersTimeoutSec * 500),
          keepAliveTimeout: 5000,
        },
        handler,
      );
      server.maxConnections = config.maxConnections;
      return server;
    },
  });
  const sendError = (reply: { status(n: number): { send(b: unknown): unknown } }, e: ApiError) => reply.status(e.status).send(e.body);
  app.setErrorHandler((error, _req, reply) => {
    if (error instanceof ApiError) return sendError(reply, error);
    const status = (error as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = status === 413 ? 'request_too_large' : 'invalid_request_error';
      return sendError(reply, new ApiError(status, status === 413 ? `request body larger than ${config.maxBodyBytes} bytes (--max-body-bytes)` : (error as Error).message, type));
    }
    app.log.error({ err: error }, 'request failed');
    return sendError(reply, new ApiError(500, 'internal error; see the server log', 'server_error'));
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new ApiError(404, `no such route: ${req.method} ${req.url.split('?')[0]}`, 'invalid_request_error', 'not_found')));

  const keys = readApiKeys(config);
  const checkKey = keyChecker(keys);
  const inFlight = new Map<string, number>();
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/v1/')) return;
    const endpoint = req.routeOptions.url ?? 'unknown';
    // counted when the response ends, streamed (hijacked) ones too
    reply.raw.once('close', () => metrics.add('safealign_requests_total', 1, { endpoint, status: String(reply.raw.statusCode) }));
    if (keys.length && !checkKey(req.headers.authorization)) {
      throw new ApiError(401, 'Incorrect API key provided: send Authorization: Bearer <key> with a key the server accepts', 'invalid_request_error', 'invalid_api_key');
    }
    // the socket peer, never a forwarded header: a client cannot pick its own address
    const client = req.socket.remoteAddress ?? 'unknown';
    const n = inFlight.get(client) ?? 0;
    if (n >= config.maxRequestsPerClient) {
      throw new ApiError(429, `too many requests in progress from ${client} (at most ${config.maxRequestsPerClient}); wait for one to finish`, 'rate_limit_error', 'rate_limit_exceeded');
    }
    inFlight.set(client, n + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (inFlight.get(client) ?? 1) - 1;
      if (left > 0) inFlight.set(client, left);
      else inFlight.delete(client);
    };
    reply.raw.once('close', release);
    reply.raw.once('finish', release);
  });

  app.get('/health', async () => ({ status: 'ok', model: ctx.modelName, running: ctx.batcher.stats.running, waiting: ctx.batcher.stats.waiting }));
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(metrics.render(ctx.batcher.stats)));
  openAiRoutes(app, ctx);
  app.addHook('onClose', async () => ctx.batcher.close());
  return app;
}

export interface RunningServe {
  url: string;
  app: FastifyInstance;
  ctx: ServeContext;
  close(): Promise<void>;
}

/** Loads the models, listens on host:port and returns the base URL (e.g. http://127.0.0.1:8000). */
export async function serveModel(config: ServeConfig): Promise<RunningServe> {
  const ctx = loadServeContext(config);
  const app = await createServeApp(ctx);
  const address = await app.listen({ host: config.host, port: config.port });
  return { url: address, app, ctx, close: () => app.close() };
}
