// Verbalized sampling in `safealign serve`: a choice is an answer drawn from the parsed list (scripted decoder), retries of a malformed list, the HTTP fields and errors (tiny model).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainBpe } from '../../src/models/index.js';
import type { Batcher, SequenceRequest } from '../../src/serve/batcher.js';
import { runChoices, VerbalizedParseError, type CompletionJob } from '../../src/serve/completions.js';
import { ServeConfigSchema } from '../../src/serve/config.js';
import { serveModel, type RunningServe } from '../../src/serve/server.js';
import { buildTinyChatModel } from '../helpers/tiny-chat-model.js';

const GOOD = '1. Knead the dough and let it rise. (probability: 0.5)\n2. Use a bread machine. (probability: 30%)\n3. Buy a starter. (probability: 0.2)';
const CUT = '1. Knead the dough and let it rise. (probability: 0.5)\n2. Use a bread';
// a byte-level tokenizer: the scripted outputs (newlines included) decode back exactly
const tokenizer = trainBpe([GOOD, CUT], { vocabSize: 400 });

/** A decoder that writes the given outputs in order, one per sequence submitted, recording each request's seed. */
function scripted(outputs: string[]): { batcher: Batcher; seeds: number[] } {
  const seeds: number[] = [];
  let next = 0;
  const batcher = {
    stats: { waiting: 0 },
    canAccept: () => true,
    submit(req: SequenceRequest) {
      seeds.push(req.seed);
      const ids = tokenizer.encode(outputs[next++ % outputs.length] as string, { addSpecialTokens: false });
      setImmediate(() => {
        for (const id of ids) if (req.onToken(id)) break;
        req.onEnd('stop');
      });
      return { cancel: () => undefined };
    },
  };
  return { batcher: batcher as unknown as Batcher, seeds };
}

const job = (seed: number, n = 1): CompletionJob => ({ promptIds: [1, 2, 3], promptInput: { prompt: 'how do i bake bread' }, raw: false, maxTokens: 100, temperature: 1, topP: 1, stops: [], n, seed, verbalized: { k: 3, attempts: 3 } });

describe('verbalized choices (scripted decoder)', () => {
  it('returns an answer drawn from the parsed list, the list beside it, after rejecting a cut-off list', async () => {
    const { batcher, seeds } = scripted([CUT, GOOD]);
    const deltas: string[] = [];
    const [r] = await runChoices({ batcher, tokenizer }, job(5), new AbortController().signal, (_, t) => deltas.push(t));
    expect(r?.verbalized?.answers.map((a) => [a.text, a.probability])).toEqual([
      ['Knead the dough and let it rise.', 0.5],
      ['Use a bread machine.', 0.3],
      ['Buy a starter.', 0.2],
    ]);
    expect(r?.text).toBe(r?.verbalized?.answers[r.verbalized.chosen]?.text);
    expect(r?.verbalized?.attempts).toBe(2);
    expect(r?.verbalized?.rejected[0]?.join(' ')).toMatch(/line 2: .* has no probability/);
    expect(r?.finishReason).toBe('stop');
    // usage counts both generations; a stream gets the answer once, whole
    expect(r?.completionTokens).toBe(tokenizer.encode(CUT, { addSpecialTokens: false }).length + tokenizer.encode(GOOD, { addSpecialTokens: false }).length);
    expect(deltas).toEqual([r?.text]);
    // each attempt decodes from its own stream
    expect(new Set(seeds).size).toBe(2);
  });

  it('draws by the request seed: the same seed the same answer, and over seeds about as often as the stated probabilities', async () => {
    const pick = async (seed: number) => (await runChoices({ batcher: scripted([GOOD]).batcher, tokenizer }, job(seed), new AbortController().signal))[0]?.verbalized?.chosen;
    expect(await pick(3)).toBe(await pick(3));
    const counts = [0, 0, 0];
    for (let seed = 0; seed < 400; seed++) counts[(await pick(seed)) as number]! += 1;
    expect(counts[0]! / 400).toBeGreaterThan(0.4);
    expect(counts[0]! / 400).toBeLessThan(0.6);
    expect(counts[2]! / 400).toBeGreaterThan(0.12);
    expect(counts[2]! / 400).toBeLessThan(0.28);
  });

  it('fails with every attempt\'s problems when no list parses', async () => {
    const run = runChoices({ batcher: scripted([CUT]).batcher, tokenizer }, job(1), new AbortController().signal);
    await expect(run).rejects.toBeInstanceOf(VerbalizedParseError);
    await expect(run).rejects.toThrow(/no well-formed list of 3 answers in 3 attempts \(attempt 1: .*\| attempt 2: .*\| attempt 3: /);
  });
});

describe('verbalized sampling over HTTP (tiny random model)', () => {
  let server: RunningServe;
  beforeAll(async () => {
    const { model } = buildTinyChatModel(mkdtempSync(join(tmpdir(), 'serve-vs-')), { context: 200, eos: false });
    server = await serveModel(ServeConfigSchema.parse({ model, modelName: 'tiny', port: 0, verbalizedAttempts: 2 }));
  });
  afterAll(async () => server?.close());
  const chat = (extra: Record<string, unknown>) =>
    fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'how do i bake bread' }], max_tokens: 8, seed: 1, ...extra }) });

  it('answers 502 with the problems when the model cannot write one', async () => {
    const plain = (await (await chat({})).json()) as { usage: { prompt_tokens: number }; choices: Record<string, unknown>[] };
    expect(plain.choices[0]).not.toHaveProperty('safealign_verbalized');
    const res = await chat({ verbalized: 3 });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('verbalized_parse_error');
    expect(body.error.message).toMatch(/no well-formed list of 3 answers in 2 attempts \(attempt 1: no line ends in a probability/);
  });

  it('rejects verbalized = 1 and the field on text completions', async () => {
    expect((await chat({ verbalized: 1 })).status).toBe(400);
    const text = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: 'bread', max_tokens: 4, verbalized: 3 }) });
    expect(text.status).toBe(400);
  });
});
