// A small OpenAI-compatible chat client for the judge: a concurrency limit, per-request timeouts, retries with exponential backoff.
import type { ChatMessage } from '../data/record.js';

/** The body of one judge request (POST /chat/completions). */
export interface JudgeRequest {
  model: string;
  messages: ChatMessage[];
  temperature: number;
  max_tokens: number;
  seed: number;
}

export interface JudgeUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface JudgeReply {
  text: string;
  usage: JudgeUsage;
}

/** A request that failed for good: a 4xx other than 408/429, or every retry used up. */
export class JudgeRequestError extends Error {
  override name = 'JudgeRequestError';
}

/** A failure worth retrying (timeout, network error, 408, 429, 5xx, a body that is not a chat completion). */
class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface ClientSettings {
  concurrency: number;
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  timeoutSec: number;
}

export interface ClientStats {
  /** HTTP requests sent, retries and GET /models included. */
  attempts: number;
  /** Retries, by reason (e.g. "429", "timeout", "500", "bad body"). */
  retries: Record<string, number>;
}

/** Counts requests in flight and makes the rest wait their turn. */
class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Reads the answer text and usage of a chat completion body; throws TransientError if it is not one. */
function readCompletion(body: string): JudgeReply {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new TransientError(`bad body: not JSON (${JSON.stringify(body.slice(0, 60))})`);
  }
  const choice = (json as { choices?: { message?: { content?: unknown } }[] }).choices?.[0];
  const text = choice?.message?.content;
  if (typeof text !== 'string') throw new TransientError('bad body: no choices[0].message.content');
  const usage = (json as { usage?: Partial<JudgeUsage> }).usage;
  return { text, usage: { prompt_tokens: Number(usage?.prompt_tokens ?? 0) || 0, completion_tokens: Number(usage?.completion_tokens ?? 0) || 0 } };
}

export class JudgeClient {
  readonly stats: ClientStats = { attempts: 0, retries: {} };
  private readonly limiter: Limiter;

  /** `baseUrl` ends before the endpoint, e.g. http://127.0.0.1:8000/v1. */
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly settings: ClientSettings,
  ) {
    this.limiter = new Limiter(settings.concurrency);
  }

  private headers(): Record<string, string> {
    return { 'content-type': 'application/json', ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}) };
  }

  /** One HTTP attempt: the reply, a TransientError to retry, or a JudgeRequestError. */
  private async attempt(path: string, init: RequestInit): Promise<string> {
    this.stats.attempts++;
    let res: Response;
    let body: string;
    try {
      res = await fetch(`${this.baseUrl}${path}`, { ...init, headers: this.headers(), signal: AbortSignal.timeout(this.settings.timeoutSec * 1000) });
      body = await res.text();
    } catch (e) {
      const err = e as Error;
      throw new TransientError(err.name === 'TimeoutError' ? 'timeout' : `network: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    }
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      throw new TransientError(String(res.status), retryAfterMs(res.headers.get('retry-after')));
    }
    if (!res.ok) throw new JudgeRequestError(`${init.method ?? 'GET'} ${this.baseUrl}${path}: HTTP ${res.status}: ${body.slice(0, 300)}`);
    return body;
  }

  /** Runs `call` within the concurrency limit, retrying transient failures with exponential backoff and jitter. */
  private async withRetries<T>(what: string, call: () => Promise<T>): Promise<T> {
    return this.limiter.run(async () => {
      for (let retry = 0; ; retry++) {
        try {
          return await call();
        } catch (e) {
          if (!(e instanceof TransientError)) throw e;
          if (retry >= this.settings.retries) throw new JudgeRequestError(`${what}: ${e.message}, after ${retry} retries (--retries)`);
          const reason = e.message.startsWith('network') ? 'network' : e.message.startsWith('bad body') ? 'bad body' : e.message;
          this.stats.retries[reason] = (this.stats.retries[reason] ?? 0) + 1;
          const backoff = this.settings.retryBaseMs * 2 ** retry * (0.5 + Math.random() / 2);
          await sleep(Math.min(this.settings.retryMaxMs, e.retryAfterMs ?? backoff));
        }
      }
    });
  }

  /** POST /chat/completions; the first choice's text and the usage. */
  chat(request: JudgeRequest): Promise<JudgeReply> {
    return this.withRetries('POST /chat/completions', async () => readCompletion(await this.attempt('/chat/completions', { method: 'POST', body: JSON.stringify(request) })));
  }

  /** GET /models: the model ids the judge serves. */
  async models(): Promise<string[]> {
    const body = await this.withRetries('GET /models', () => this.attempt('/models', { method: 'GET' }));
    try {
      const data = (JSON.parse(body) as { data?: { id?: unknown }[] }).data ?? [];
      return data.map((m) => m.id).filter((id): id is string => typeof id === 'string');
    } catch {
      throw new JudgeRequestError(`GET ${this.baseUrl}/models: not a model list; pass --judge-model`);
    }
  }
}
