// The OpenAI routes: /v1/models, /v1/chat/completions and /v1/completions, plain JSON or server-sent events.
import { randomInt, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { encodePrompt } from '../algorithms/common/batching.js';
import { ContextLengthError } from '../models/generate.js';
import { ImageTokenError } from '../models/llava.js';
import type { PromptInput } from '../models/prompt.js';
import type { ChatMessage } from '../models/tokenizer.js';
import { QueueFullError } from './batcher.js';
import { verbalizedPrompt } from '../models/verbalized.js';
import { CancelledError, runChoices, VerbalizedParseError, type ChoiceResult, type CompletionJob } from './completions.js';
import { RequestImage } from './images.js';
import { ApiError, ChatRequestSchema, CompletionRequestSchema, contentText, imageParts, parseRequest, type ChatRequest, type CompletionRequest } from './openai-schema.js';
import type { ServeContext } from './server.js';

type Kind = 'chat' | 'text';

/** What a request asks the model, before the sampling fields: the prompt's tokens and text, and its image if it has one. */
type PromptParts = Pick<CompletionJob, 'promptIds' | 'promptInput' | 'raw' | 'verbalized' | 'pixels' | 'judgePixels'> & { image?: RequestImage };

/**
 * Refuses a prompt whose image tokens are not exactly those its image fills: the image placeholder typed in the text
 * (e.g. "<image>"), which the model would read as a picture that is not there.
 */
function checkImageTokens(ctx: ServeContext, kind: Kind, prompt: PromptParts): void {
  if (!ctx.image) return;
  const { id, placeholder, perImage } = ctx.image.tokens;
  const found = prompt.promptIds.filter((t) => t === id).length;
  if (found !== (prompt.pixels ? perImage : 0)) {
    throw new ApiError(400, `the text holds the image placeholder ${placeholder}, which marks where an image's features go; send images as image_url parts, and no ${placeholder} in the text`, 'invalid_request_error', null, kind === 'chat' ? 'messages' : 'prompt');
  }
}

/** Checks the sampling fields against the model and the server's limits and builds the job. */
function buildJob(ctx: ServeContext, body: ChatRequest | CompletionRequest, kind: Kind, parts: PromptParts): CompletionJob {
  const { image: _image, ...prompt } = parts;
  const { config } = ctx;
  if (body.model !== ctx.modelName) {
    throw new ApiError(404, `The model '${body.model}' does not exist: this server serves '${ctx.modelName}' (GET /v1/models)`, 'invalid_request_error', 'model_not_found', 'model');
  }
  const n = body.n ?? 1;
  if (n > config.maxN) throw new ApiError(400, `n = ${n}: at most ${config.maxN} choices per request (--max-n)`, 'invalid_request_error', null, 'n');
  const asked = body.max_tokens ?? ('max_completion_tokens' in body ? body.max_completion_tokens : undefined);
  if (asked !== undefined && asked > config.maxTokens) {
    throw new ApiError(400, `max_tokens = ${asked}: this server generates at most ${config.maxTokens} tokens per choice (--max-tokens)`, 'invalid_request_error', null, 'max_tokens');
  }
  const context = ctx.model.contextLength;
  const p = prompt.promptIds.length;
  if (p === 0) throw new ApiError(400, 'the prompt is empty', 'invalid_request_error', null, 'prompt');
  checkImageTokens(ctx, kind, parts);
  if (p >= context || (asked !== undefined && p + asked > context)) {
    throw new ApiError(
      400,
      `This model's maximum context length is ${context} tokens. However, you requested ${p + (asked ?? 1)} tokens (${p} in the ${'messages' in body ? 'messages' : 'prompt'}, ${asked ?? 1} for the completion). Please reduce the length of the ${'messages' in body ? 'messages' : 'prompt'} or max_tokens.`,
      'invalid_request_error',
      'context_length_exceeded',
      'messages' in body ? 'messages' : 'prompt',
    );
  }
  const stop = body.stop ?? [];
  return {
    ...prompt,
    maxTokens: asked ?? Math.min(config.maxTokens, context - p),
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    stops: typeof stop === 'string' ? [stop] : stop,
    n,
    seed: body.seed ?? randomInt(2 ** 31),
  };
}

/**
 * The image of a chat request, opened and checked (undefined without one): one image_url part, in the last message, for an
 * image + text model; anything else is a 400 naming the part.
 */
async function requestImage(ctx: ServeContext, messages: ChatRequest['messages']): Promise<RequestImage | undefined> {
  const parts = imageParts(messages);
  const [first, second] = parts;
  if (!first) return undefined;
  const refuse = (message: string, code: string, param: string) => new ApiError(400, message, 'invalid_request_error', code, param);
  if (!ctx.image) throw refuse(`the model '${ctx.modelName}' reads text only: image_url parts need an image + text (LLaVA) model`, 'image_input_not_supported', first.field);
  if (second) throw refuse(`${parts.length} images: this model reads one image per request (its prompt has one image slot); send one`, 'too_many_images', second.field);
  if (first.message !== messages.length - 1) throw refuse("the image must be in the last message, the user's question the model answers (it reads the picture just before that text)", 'image_not_in_last_message', first.field);
  return RequestImage.open(first.url, `${first.field}.image_url.url`, ctx.config.maxImagePixels);
}

/**
 * A chat request's conversation as the model's chat template renders it; the last message must be the user's.
 * With verbalized sampling (the request's `verbalized`, else --verbalized) the model reads that message with the
 * request for k answers appended; the guard reads the question as asked. An image (image + text models) goes before the
 * last message's text, as the model was trained (`formatPrompt`): the policy and every image + text guard model read it
 * as their own preprocessor_config.json makes it.
 */
async function chatPrompt(ctx: ServeContext, body: ChatRequest): Promise<PromptParts> {
  const messages: ChatMessage[] = body.messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: contentText(m.content) }));
  const last = messages[messages.length - 1] as ChatMessage;
  if (last.role !== 'user') throw new ApiError(400, `the last message must be the user's (found '${last.role}'): the model answers the user`, 'invalid_request_error', null, 'messages');
  const promptInput = { prompt: last.content, context: messages.slice(0, -1) };
  const k = body.verbalized ?? ctx.config.verbalized;
  if (k === 1) throw new ApiError(400, 'verbalized = 1: verbalized sampling needs at least 2 answers to draw from (0 turns it off)', 'invalid_request_error', null, 'verbalized');
  const image = await requestImage(ctx, body.messages);
  try {
    const pixels = image && ctx.image ? await image.pixels(ctx.image.processor) : undefined;
    const judgePixels = image && ctx.guard ? await ctx.guard.judgePixels(image) : undefined;
    const encode = (p: PromptInput) => {
      try {
        return encodePrompt(ctx.tokenizer, pixels ? { ...p, pixels } : p, ctx.image ? { image: ctx.image.tokens } : {});
      } catch (e) {
        if (e instanceof ImageTokenError) throw new ApiError(400, `${e.message}; send no image placeholder in the text`, 'invalid_request_error', null, 'messages');
        throw e;
      }
    };
    const withImage = { ...(image ? { image } : {}), ...(pixels ? { pixels } : {}), ...(judgePixels ? { judgePixels } : {}) };
    if (k === 0) return { promptIds: encode(promptInput), promptInput, raw: false, ...withImage };
    const promptIds = encode({ ...promptInput, prompt: verbalizedPrompt(last.content, k) });
    return { promptIds, promptInput, raw: false, verbalized: { k, attempts: ctx.config.verbalizedAttempts }, ...withImage };
  } catch (e) {
    await image?.dispose();
    throw e;
  }
}

function textPrompt(ctx: ServeContext, body: CompletionRequest): PromptParts {
  const prompt = typeof body.prompt === 'string' ? body.prompt : (body.prompt[0] as string);
  return { promptIds: encodePrompt(ctx.tokenizer, { prompt }, { raw: true }), promptInput: { prompt }, raw: true };
}

/** The choice object of a response or a stream chunk. */
function choiceBody(kind: Kind, index: number, text: string | null, finishReason: string | null, extra: Partial<ChoiceResult> = {}, first = false): Record<string, unknown> {
  const guard = { ...(extra.guard ? { safealign_guard: extra.guard } : {}), ...(extra.verbalized ? { safealign_verbalized: extra.verbalized } : {}) };
  if (kind === 'text') return { index, text: text ?? '', logprobs: null, finish_reason: finishReason, ...guard };
  if (text === null && !first) return { index, delta: {}, logprobs: null, finish_reason: finishReason, ...guard };
  return { index, delta: first ? { role: 'assistant', content: '' } : { content: text }, logprobs: null, finish_reason: finishReason, ...guard };
}

function usage(promptTokens: number, results: readonly ChoiceResult[]) {
  const completion = results.reduce((s, r) => s + r.completionTokens, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}

/** Maps engine errors to API errors (429 busy, 400 no room or image tokens that do not fit); others pass through as 500s. */
function apiErrorOf(e: unknown): unknown {
  if (e instanceof QueueFullError) return new ApiError(429, e.message, 'rate_limit_error', 'server_busy');
  if (e instanceof ImageTokenError) return new ApiError(400, e.message, 'invalid_request_error', 'invalid_image_tokens');
  if (e instanceof ContextLengthError) return new ApiError(400, e.message, 'invalid_request_error', 'context_length_exceeded');
  if (e instanceof VerbalizedParseError) return new ApiError(502, e.message, 'server_error', 'verbalized_parse_error');
  return e;
}

function sse(res: ServerResponse, data: unknown): void {
  res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

async function complete(ctx: ServeContext, kind: Kind, body: unknown, reply: FastifyReply): Promise<unknown> {
  const req = kind === 'chat' ? parseRequest(ChatRequestSchema, body) : parseRequest(CompletionRequestSchema, body);
  const prompt = kind === 'chat' ? await chatPrompt(ctx, req as ChatRequest) : textPrompt(ctx, req as CompletionRequest);
  try {
    return await answer(ctx, kind, req, prompt, reply);
  } finally {
    // every sequence of the request has ended: nothing reads its pixels any more
    await prompt.image?.dispose();
  }
}

async function answer(ctx: ServeContext, kind: Kind, req: ChatRequest | CompletionRequest, prompt: PromptParts, reply: FastifyReply): Promise<unknown> {
  const job = buildJob(ctx, req, kind, prompt);
  const { metrics } = ctx;
  const started = performance.now();
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const object = kind === 'chat' ? 'chat.completion' : 'text_completion';
  const envelope = (choices: unknown[]) => ({ id, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model: ctx.modelName, choices });
  // a client that goes away cancels its sequences, which frees their batch slots
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  const finish = (results: ChoiceResult[]) => {
    metrics.add('safealign_prompt_tokens_total', job.promptIds.length);
    metrics.add('safealign_completion_tokens_total', results.reduce((s, r) => s + r.completionTokens, 0));
    metrics.add('safealign_request_seconds_sum', (performance.now() - started) / 1000);
    metrics.add('safealign_request_seconds_count');
    if (!ctx.guard) return;
    for (const r of results) {
      metrics.add('safealign_guard_decisions_total', 1, { decision: r.guard?.decision ?? 'none' });
      metrics.add('safealign_guard_regenerations_total', r.guard?.regenerations ?? 0);
    }
    const image = prompt.image ? { image: { sha256: prompt.image.sha256, width: prompt.image.width, height: prompt.image.height } } : {};
    ctx.guard.log({ id, endpoint: kind, ...image, choices: results.map((r) => ({ index: r.index, ...r.guard })) });
  };

  if (!req.stream) {
    let results: ChoiceResult[];
    try {
      results = await runChoices(ctx, job, controller.signal);
    } catch (e) {
      if (e instanceof CancelledError) return reply;
      throw apiErrorOf(e);
    }
    finish(results);
    return {
      id,
      object,
      created,
      model: ctx.modelName,
      choices: results.map((r) =>
        kind === 'chat'
          ? { index: r.index, message: { role: 'assistant', content: r.text }, logprobs: null, finish_reason: r.finishReason, ...(r.guard ? { safealign_guard: r.guard } : {}), ...(r.verbalized ? { safealign_verbalized: r.verbalized } : {}) }
          : choiceBody('text', r.index, r.text, r.finishReason, r),
      ),
      usage: usage(job.promptIds.length, results),
    };
  }

  if (!ctx.batcher.canAccept(job.n)) throw apiErrorOf(new QueueFullError(`the server is busy (${ctx.batcher.stats.waiting} sequences waiting); retry later`));
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  if (kind === 'chat') for (let i = 0; i < job.n; i++) sse(res, envelope([choiceBody(kind, i, null, null, {}, true)]));
  let firstToken = true;
  try {
    const results = await runChoices(ctx, job, controller.signal, (index, text) => {
      if (firstToken) {
        firstToken = false;
        metrics.add('safealign_first_token_seconds_sum', (performance.now() - started) / 1000);
        metrics.add('safealign_first_token_seconds_count');
      }
      sse(res, envelope([choiceBody(kind, index, text, null)]));
    });
    for (const r of results) sse(res, envelope([choiceBody(kind, r.index, kind === 'chat' ? null : '', r.finishReason, r)]));
    if (req.stream_options?.include_usage) sse(res, { ...envelope([]), usage: usage(job.promptIds.length, results) });
    sse(res, '[DONE]');
    finish(results);
  } catch (e) {
    if (!(e instanceof CancelledError)) {
      const err = apiErrorOf(e);
      sse(res, err instanceof ApiError ? err.body : new ApiError(500, 'internal error; see the server log', 'server_error').body);
      if (!(err instanceof ApiError)) console.error(`safealign serve: ${(e as Error).stack ?? String(e)}`);
    }
  }
  res.end();
  return reply;
}

export function openAiRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get('/v1/models', async () => ({ object: 'list', data: [{ id: ctx.modelName, object: 'model', created: ctx.started, owned_by: 'safealign' }] }));
  app.post('/v1/chat/completions', async (req, reply) => complete(ctx, 'chat', req.body, reply));
  app.post('/v1/completions', async (req, reply) => complete(ctx, 'text', req.body, reply));
}
