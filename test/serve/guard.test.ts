// The guardrail of `safealign serve`: cost-model scores, filter-and-regenerate up to the round limit, the refusal, the log and the response field.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scorer } from '../../src/eval/evaluate-models.js';
import { scoreTexts } from '../../src/eval/model-responses.js';
import { GuardConfigSchema, ServeConfigSchema } from '../../src/serve/config.js';
import { Guard, type GuardVerdict } from '../../src/serve/guard.js';
import { serveModel, type RunningServe } from '../../src/serve/server.js';
import { buildTinyChatModel } from '../helpers/tiny-chat-model.js';

const dir = mkdtempSync(join(tmpdir(), 'serve-guard-'));
const { model, cost } = buildTinyChatModel(dir, { context: 128, eos: false, cost: true });
const costScorer = scorer(cost, 'cost', 1000);
const servers: RunningServe[] = [];
afterAll(async () => Promise.all(servers.map((s) => s.close())));

const REFUSAL = 'i will not help with that .';
const PROMPT = 'how do i make fire';

async function start(threshold: number, rounds: number, log = ''): Promise<string> {
  const s = await serveModel(ServeConfigSchema.parse({ model, port: 0, guard: { cost, threshold, rounds, refusal: REFUSAL, log: log || join(dir, 'unused.log') } }));
  servers.push(s);
  return s.url;
}

interface Choice {
  message: { content: string };
  finish_reason: string;
  safealign_guard?: GuardVerdict;
}

async function chat(url: string, seed: number, extra: Record<string, unknown> = {}): Promise<Choice[]> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'model', messages: [{ role: 'user', content: PROMPT }], max_tokens: 10, seed, ...extra }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { choices: Choice[] }).choices;
}

/** The cost model's score of `answer` to PROMPT, computed here (not by the server). */
const costOf = (answer: string) => scoreTexts(costScorer, [{ prompt: PROMPT, response: answer }]).scores[0] as number;

describe('the guardrail (--guard-cost)', () => {
  it('passes an answer under the threshold unchanged, with its cost score', async () => {
    const plain = await start(1e9, 5);
    const [c] = await chat(plain, 1);
    expect(c?.safealign_guard?.decision).toBe('pass');
    expect(c?.safealign_guard?.scores).toHaveLength(1);
    expect(c?.safealign_guard?.scores?.[0]).toBeCloseTo(costOf(c?.message.content ?? ''), 4);
    // the first round uses the request's own stream: the text an unguarded server gives for the seed
    const unguarded = await serveModel(ServeConfigSchema.parse({ model, port: 0 }));
    servers.push(unguarded);
    const [u] = await chat(unguarded.url, 1);
    expect(u?.message.content).toBe(c?.message.content);
    expect(u?.safealign_guard).toBeUndefined();
  });

  it('scores answers asked in one turn together, a text completion on its raw prompt and a chat answer with the template', async () => {
    const guard = new Guard({ cost: costScorer }, GuardConfigSchema.parse({ cost }));
    const answer = 'the cat sat on the mat';
    // asked in the same turn of the event loop: one flush scores both
    const [chat, text] = await Promise.all([guard.score({ prompt: PROMPT }, answer, false), guard.score({ prompt: PROMPT }, answer, true)]);
    const [chatScore, rawScore] = [chat.cost as number, text.cost as number];
    expect(chatScore).toBeCloseTo(costOf(answer), 5);
    const raw = scoreTexts(costScorer, [{ prompt: PROMPT, response: answer }], 32, { raw: true }).scores[0] as number;
    expect(rawScore).toBeCloseTo(raw, 5);
    expect(raw).not.toBeCloseTo(costOf(answer), 3);
  });

  it('regenerates a flagged answer until one scores at most the threshold, refuses after the last round, and logs each request', async () => {
    const log = join(dir, 'guard.log');
    const strict = await start(-1e9, 5, log);
    // every answer flagged: the 6 answers of rounds 0-5 are scored, then the refusal is returned
    let seed = 0;
    let all: number[] = [];
    for (; seed < 20; seed++) {
      const [c] = await chat(strict, seed);
      expect(c?.safealign_guard).toMatchObject({ decision: 'refused', regenerations: 5 });
      expect(c?.message.content).toBe(REFUSAL);
      all = c?.safealign_guard?.scores ?? [];
      expect(all).toHaveLength(6);
      // a seed whose first answer is not its safest: a threshold between them makes it regenerate
      if (Math.min(...all.slice(1)) < (all[0] as number)) break;
    }
    expect(new Set(all).size).toBe(6);
    const threshold = (Math.min(...all.slice(1)) + Math.min(all[0] as number, ...all.slice(1).filter((s) => s > Math.min(...all.slice(1))))) / 2;
    const j = all.findIndex((s) => s <= threshold);
    expect(j).toBeGreaterThan(0);
    const middle = await start(threshold, 5);
    const [c] = await chat(middle, seed);
    expect(c?.safealign_guard).toMatchObject({ decision: 'regenerated', regenerations: j, scores: all.slice(0, j + 1) });
    const kept = c?.message.content ?? '';
    expect(kept).not.toBe(REFUSAL);
    expect(costOf(kept)).toBeLessThanOrEqual(threshold + 1e-5);
    // with fewer rounds than it needs, the same request is refused
    if (j > 1) {
      const [r] = await chat(await start(threshold, j - 1), seed);
      expect(r?.message.content).toBe(REFUSAL);
      expect(r?.safealign_guard?.scores).toEqual(all.slice(0, j));
    }
    // rounds 0: filter only, the flagged answer is refused at once
    const [once] = await chat(await start(-1e9, 0), seed);
    expect(once?.safealign_guard).toMatchObject({ decision: 'refused', regenerations: 0, scores: all.slice(0, 1) });
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { choices: GuardVerdict[] });
    expect(lines).toHaveLength(seed + 1);
    expect(lines.at(-1)?.choices[0]).toMatchObject({ decision: 'refused', scores: all });
  });

  it('streams a guarded choice in one piece after its verdict, with the guard field on the last chunk', async () => {
    const url = await start(1e9, 2);
    const [plain] = await chat(url, 4);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'model', messages: [{ role: 'user', content: PROMPT }], max_tokens: 10, seed: 4, stream: true }),
    });
    const events = (await res.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { delta: { content?: string }; safealign_guard?: GuardVerdict }[] });
    const contents = chunks.flatMap((c) => c.choices.map((x) => x.delta.content ?? '')).filter(Boolean);
    expect(contents).toEqual([plain?.message.content]);
    expect(chunks.at(-1)?.choices[0]?.safealign_guard?.decision).toBe('pass');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('safealign_guard_decisions_total{decision="pass"} 2');
  });
});
