// `safealign serve` through the official `openai` client: chat and text completions, plain and streamed, keys, limits, seeds under batching, disconnects.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Tokenizer } from '../../src/models/index.js';
import { ServeConfigSchema } from '../../src/serve/config.js';
import { serveModel, type RunningServe } from '../../src/serve/server.js';
import { buildTinyChatModel } from '../helpers/tiny-chat-model.js';

const KEY = 'test-key-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'serve-'));
const { model } = buildTinyChatModel(dir, { context: 256, eos: false });
let server: RunningServe;
let client: OpenAI;

const ask = (content: string) => [{ role: 'user' as const, content }];

beforeAll(async () => {
  server = await serveModel(ServeConfigSchema.parse({ model, modelName: 'tiny', port: 0, apiKey: [KEY], maxBatch: 8, maxTokens: 200, maxBodyBytes: 4096 }));
  client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
});
afterAll(async () => server?.close());

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('safealign serve with the openai client', () => {
  it('lists the model and answers a chat completion with usage', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny']);
    const r = await client.chat.completions.create({ model: 'tiny', messages: ask('how do i bake bread'), max_tokens: 12, seed: 7 });
    expect(r.object).toBe('chat.completion');
    expect(r.choices).toHaveLength(1);
    expect(r.choices[0]?.finish_reason).toBe('length');
    expect(r.choices[0]?.message.role).toBe('assistant');
    expect(r.choices[0]?.message.content).toMatch(/\w/);
    expect(r.usage?.completion_tokens).toBe(12);
    expect(r.usage?.prompt_tokens).toBeGreaterThan(5);
  });

  it('streams the same text as the plain answer for the same seed, with usage at the end', async () => {
    const plain = await client.chat.completions.create({ model: 'tiny', messages: ask('tell me about the cat'), max_tokens: 20, seed: 11, temperature: 0.9, top_p: 0.95 });
    const stream = await client.chat.completions.create({ model: 'tiny', messages: ask('tell me about the cat'), max_tokens: 20, seed: 11, temperature: 0.9, top_p: 0.95, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        finish = c.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(5);
    expect(text).toBe(plain.choices[0]?.message.content);
    expect(finish).toBe('length');
    expect(usage?.completion_tokens).toBe(20);
    // another seed, another answer
    const other = await client.chat.completions.create({ model: 'tiny', messages: ask('tell me about the cat'), max_tokens: 20, seed: 12, temperature: 0.9, top_p: 0.95 });
    expect(other.choices[0]?.message.content).not.toBe(text);
  });

  it('answers text completions (raw prompt), plain and streamed, and n choices', async () => {
    const plain = await client.completions.create({ model: 'tiny', prompt: 'the cat sat on the', max_tokens: 8, seed: 3, n: 3 });
    expect(plain.object).toBe('text_completion');
    expect(plain.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(plain.choices.map((c) => c.text)).size).toBeGreaterThan(1);
    expect(plain.usage?.completion_tokens).toBe(24);
    const stream = await client.completions.create({ model: 'tiny', prompt: 'the cat sat on the', max_tokens: 8, seed: 3, n: 3, stream: true });
    const texts = ['', '', ''];
    for await (const chunk of stream) for (const c of chunk.choices) texts[c.index] += c.text;
    expect(texts).toEqual(plain.choices.map((c) => c.text));
  });

  it('cuts the text before a stop string (finish_reason stop) and decodes greedily at temperature 0', async () => {
    const greedy = await client.chat.completions.create({ model: 'tiny', messages: ask('help me'), max_tokens: 16, temperature: 0 });
    const again = await client.chat.completions.create({ model: 'tiny', messages: ask('help me'), max_tokens: 16, temperature: 0, seed: 99 });
    expect(again.choices[0]?.message.content).toBe(greedy.choices[0]?.message.content);
    const sampled = await client.chat.completions.create({ model: 'tiny', messages: ask('help me'), max_tokens: 16, seed: 5 });
    const words = (sampled.choices[0]?.message.content ?? '').split(' ');
    // a word first seen at k >= 2 (and not the last): the text before its first occurrence is the first k words
    const k = words.findIndex((w, i) => i >= 2 && i < words.length - 1 && words.indexOf(w) === i);
    expect(k).toBeGreaterThan(1);
    const stop = ` ${words[k]} `;
    const cut = await client.chat.completions.create({ model: 'tiny', messages: ask('help me'), max_tokens: 16, seed: 5, stop: [stop, 'zzz'] });
    expect(cut.choices[0]?.message.content).toBe(words.slice(0, k).join(' '));
    expect(cut.choices[0]?.finish_reason).toBe('stop');
    const streamed = await client.chat.completions.create({ model: 'tiny', messages: ask('help me'), max_tokens: 16, seed: 5, stop, stream: true });
    let text = '';
    for await (const chunk of streamed) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(words.slice(0, k).join(' '));
  });

  it('gives concurrent requests the same text as one at a time (same seeds), in shared forward passes', async () => {
    const prompts = ['the dog ran far', 'how do i make a cake', 'tell me about fire', 'red blue green', 'a house on the road', 'water and stone'];
    const request = (p: string, i: number) => client.chat.completions.create({ model: 'tiny', messages: ask(p), max_tokens: 24, seed: 1000 + i, n: 2 });
    const sequential: string[][] = [];
    for (const [i, p] of prompts.entries()) sequential.push((await request(p, i)).choices.map((c) => c.message.content ?? ''));
    const steps = await metric('safealign_decode_steps_total');
    const rows = await metric('safealign_decode_rows_total');
    const concurrent = await Promise.all(prompts.map(async (p, i) => (await request(p, i)).choices.map((c) => c.message.content ?? '')));
    expect(concurrent).toEqual(sequential);
    // 12 sequences of 24 tokens decoded together: several rows per forward pass
    const meanBatch = ((await metric('safealign_decode_rows_total')) - rows) / ((await metric('safealign_decode_steps_total')) - steps);
    expect(meanBatch).toBeGreaterThan(3);
  });

  it('rejects a bad or missing key with 401, an oversized body with 413, too many tokens with 400, an unknown model with 404', async () => {
    const bad = new OpenAI({ apiKey: 'wrong-key-000000', baseURL: `${server.url}/v1`, maxRetries: 0 });
    await expect(bad.chat.completions.create({ model: 'tiny', messages: ask('hi') })).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    const none = await fetch(`${server.url}/v1/models`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');

    const big = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: ask('cat '.repeat(2000)) }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { message: string } }).error.message).toMatch(/larger than 4096 bytes/);

    // the prompt (~10 tokens) + 250 new tokens exceed the context of 256
    await expect(client.chat.completions.create({ model: 'tiny', messages: ask('hello there'), max_tokens: 199, n: 1, stop: null })).resolves.toBeDefined();
    await expect(client.chat.completions.create({ model: 'tiny', messages: ask('the cat '.repeat(60)), max_tokens: 199 })).rejects.toMatchObject({ status: 400, code: 'context_length_exceeded' });
    await expect(client.chat.completions.create({ model: 'tiny', messages: ask('hi'), max_tokens: 201 })).rejects.toMatchObject({ status: 400, param: 'max_tokens' });
    await expect(client.chat.completions.create({ model: 'tiny', messages: ask('hi'), n: 9 })).rejects.toMatchObject({ status: 400, param: 'n' });
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages: ask('hi') })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'assistant', content: 'hi' }] })).rejects.toMatchObject({ status: 400 });
    const unknownField = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'hi', logit_bias: { 5: 100 } }),
    });
    expect(unknownField.status).toBe(400);
    expect(((await unknownField.json()) as { error: { message: string } }).error.message).toMatch(/logit_bias/);
  });

  it('frees the batch slot of a client that disconnects mid-stream', async () => {
    const cancelledBefore = await metric('safealign_sequences_finished_total{reason="cancelled"}');
    const generatedBefore = await metric('safealign_generated_tokens_total');
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: 'tiny', messages: ask('tell me a long story'), max_tokens: 200, stream: true }, { signal: controller.signal });
    let chunks = 0;
    // the client library ends the iteration quietly on abort
    for await (const _ of stream) if (++chunks === 3) controller.abort();
    expect(chunks).toBe(3);
    for (let i = 0; i < 100 && (await metric('safealign_sequences_running')) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await metric('safealign_sequences_running')).toBe(0);
    expect(await metric('safealign_sequences_finished_total{reason="cancelled"}')).toBe(cancelledBefore + 1);
    expect((await metric('safealign_generated_tokens_total')) - generatedBefore).toBeLessThan(200);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string };
    expect(health.status).toBe('ok');
  });
});

describe('stop tokens from the model folder', () => {
  it("ends a sequence at any eos_token_id of generation_config.json (a chat model's end-of-turn token)", async () => {
    const d = mkdtempSync(join(tmpdir(), 'serve-eos-'));
    const m = buildTinyChatModel(d, { context: 128, eos: false }).model;
    const s = await serveModel(ServeConfigSchema.parse({ model: m, port: 0 }));
    const c = new OpenAI({ apiKey: 'unused', baseURL: `${s.url}/v1`, maxRetries: 0 });
    const request = () => c.completions.create({ model: 'model', prompt: 'the cat sat on', max_tokens: 16, seed: 5 });
    const words = ((await request()).choices[0]?.text ?? '').split(' ');
    await s.close();
    const k = words.findIndex((w, i) => i >= 2 && words.indexOf(w) === i);
    expect(k).toBeGreaterThan(1);
    const id = Tokenizer.fromDir(m).tokenToId(words[k] as string);
    writeFileSync(join(m, 'generation_config.json'), JSON.stringify({ eos_token_id: [39999, id] }));
    const stopped = await serveModel(ServeConfigSchema.parse({ model: m, port: 0 }));
    const c2 = new OpenAI({ apiKey: 'unused', baseURL: `${stopped.url}/v1`, maxRetries: 0 });
    const r = await c2.completions.create({ model: 'model', prompt: 'the cat sat on', max_tokens: 16, seed: 5 });
    await stopped.close();
    expect(r.choices[0]?.text).toBe(words.slice(0, k).join(' '));
    expect(r.choices[0]?.finish_reason).toBe('stop');
  });
});

describe('the safealign serve command', () => {
  it('prints --help with the endpoints, and serves until SIGTERM', async () => {
    const env = { ...process.env, SAFEALIGN_THREADS: '1' };
    const help = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--help'], { encoding: 'utf8', env });
    for (const s of ['/v1/chat/completions', '--guard-cost', '--no-batching', 'context_length_exceeded']) expect(help).toContain(s);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--model', model, '--port', '0'], { env: { ...env, SAFEALIGN_API_KEY: KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
    // a failed expectation must not leave the server running after the test
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/\S+)\/v1/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    const c = new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 });
    const r = await c.completions.create({ model: 'model', prompt: 'the cat', max_tokens: 4 });
    // no seed: the model may sample its end token before the limit (finish_reason 'stop'); a sampled special token decodes to no word
    const choice = r.choices[0];
    expect(['length', 'stop']).toContain(choice?.finish_reason);
    expect(r.usage?.completion_tokens).toEqual(choice?.finish_reason === 'length' ? 4 : expect.any(Number));
    expect(choice?.text.split(' ').filter((w) => w !== '').length).toBeLessThanOrEqual(4);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });
});
