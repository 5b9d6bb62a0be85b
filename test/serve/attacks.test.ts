// Hostile clients against `safealign serve`: request and connection floods, a slowloris body, spoofed X-Forwarded-For.
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServeConfigSchema } from '../../src/serve/config.js';
import { serveModel, type RunningServe } from '../../src/serve/server.js';
import { buildTinyChatModel } from '../helpers/tiny-chat-model.js';

const dir = mkdtempSync(join(tmpdir(), 'serve-attacks-'));
const { model } = buildTinyChatModel(dir, { context: 256, eos: false });
let server: RunningServe;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const body = (maxTokens: number, stream = false) => JSON.stringify({ model: 'model', prompt: 'the cat sat', max_tokens: maxTokens, stream });
const post = (base: string, maxTokens: number, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body(maxTokens) });

/** Opens a raw TCP connection to the server; resolves when connected. */
function rawSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with what the server wrote once it closed the socket (or after `ms`, with what it wrote so far and closed = false). */
function untilClosed(s: Socket, ms: number): Promise<{ closed: boolean; data: string }> {
  return new Promise((resolve) => {
    let data = '';
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.on('error', () => {});
    const timer = setTimeout(() => resolve({ closed: false, data }), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, data });
    });
  });
}

beforeAll(async () => {
  server = await serveModel(
    ServeConfigSchema.parse({ model, port: 0, maxBatch: 4, maxQueue: 8, maxConnections: 40, requestTimeoutSec: 1.5, headersTimeoutSec: 1, maxRequestsPerClient: 1000 }),
  );
});
afterAll(async () => server?.close());

describe('safealign serve under attack', () => {
  it('a flood of requests: the excess gets 429 at once, the rest is served, the server stays up', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => post(server.url, 40)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(8);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    const busy = (await answers.find((r) => r.status === 429)?.json()) as { error: { type: string; code: string } };
    expect(busy.error).toMatchObject({ type: 'rate_limit_error', code: 'server_busy' });
    expect((await post(server.url, 4)).status).toBe(200);
  });

  it('a flood of idle connections: beyond --max-connections they are dropped, the idle ones are closed after --headers-timeout-sec, then clients are served', async () => {
    const sockets = await Promise.all(Array.from({ length: 60 }, () => rawSocket(server.url).catch(() => null)));
    const open = sockets.filter((s): s is Socket => s !== null);
    const ends = await Promise.all(open.map((s) => untilClosed(s, 8000)));
    // every idle connection is closed by the server: at once past the limit, after the header timeout otherwise
    expect(ends.every((e) => e.closed)).toBe(true);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect((await post(server.url, 4)).status).toBe(200);
  });

  it('a slowloris body (a byte at a time) is cut with 408 after --request-timeout-sec while others are served', async () => {
    const s = await rawSocket(server.url);
    const { host } = new URL(server.url);
    s.write(`POST /v1/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    const ended = untilClosed(s, 10_000);
    const drip = setInterval(() => s.writable && s.write(' '), 200);
    // meanwhile a normal client is answered
    expect((await post(server.url, 4)).status).toBe(200);
    const end = await ended;
    clearInterval(drip);
    expect(end.closed).toBe(true);
    expect(end.data).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('spoofed headers', () => {
  let strict: RunningServe;
  beforeAll(async () => {
    strict = await serveModel(ServeConfigSchema.parse({ model, port: 0, maxRequestsPerClient: 1 }));
  });
  afterAll(async () => strict?.close());

  it('X-Forwarded-For does not make a client someone else: the per-client limit holds', async () => {
    // a long streamed answer holds this client's one request slot
    const holding = await fetch(`${strict.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(200, true) });
    const reader = holding.body?.getReader();
    await reader?.read();
    const spoofed = await post(strict.url, 4, { 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '198.51.100.7', forwarded: 'for=192.0.2.60' });
    expect(spoofed.status).toBe(429);
    expect(((await spoofed.json()) as { error: { message: string } }).error.message).toMatch(/127\.0\.0\.1|::1/);
    await reader?.cancel();
    // the slot is free once the stream is gone
    for (let i = 0; i < 50; i++) {
      const r = await post(strict.url, 4, { 'x-forwarded-for': '203.0.113.9' });
      if (r.status === 200) return;
      await sleep(50);
    }
    expect.fail('the slot of the cancelled stream was not freed');
  });
});
