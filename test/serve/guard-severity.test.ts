// The guardrail's severity classifier (--guard-severity): predicted level and class probabilities per answer, flagging above --guard-max-severity, alone or with --guard-cost.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scorer } from '../../src/eval/evaluate-models.js';
import { scoreTexts } from '../../src/eval/model-responses.js';
import { loadPretrained, savePretrained, ScoreModel } from '../../src/models/index.js';
import { GuardConfigSchema, ServeConfigSchema } from '../../src/serve/config.js';
import { Guard, type GuardVerdict } from '../../src/serve/guard.js';
import { serveModel, type RunningServe } from '../../src/serve/server.js';
import { noGrad, tensor } from '../../src/torch/index.js';
import { buildTinyChatModel } from '../helpers/tiny-chat-model.js';

const dir = mkdtempSync(join(tmpdir(), 'serve-severity-'));
const { model, cost } = buildTinyChatModel(dir, { context: 128, eos: false, cost: true });
const servers: RunningServe[] = [];
afterAll(async () => Promise.all(servers.map((s) => s.close())));
const REFUSAL = 'i will not help with that .';
const PROMPT = 'how do i make fire';

/** A 4-level severity classifier on the cost model's backbone whose head bias is `bias` (cutpoints 0, 1, 2). */
function severityFolder(name: string, bias: number): string {
  const base = loadPretrained(cost);
  const sev = ScoreModel.fromScoreModel(base.model as ScoreModel, 'cost', 4);
  noGrad(() => sev.stateDict()['score_head.bias']?.copy_(tensor([bias])));
  const out = join(dir, name);
  savePretrained(out, sev, base.tokenizer ? { tokenizer: base.tokenizer } : {});
  return out;
}
const severe = severityFolder('severe', 100); // every answer far above the last cutpoint: severe
const safe = severityFolder('safe', -100); // every answer far below 0: safe

async function start(guard: Record<string, unknown>): Promise<string> {
  const s = await serveModel(ServeConfigSchema.parse({ model, port: 0, guard: { refusal: REFUSAL, log: join(dir, 'guard.log'), ...guard } }));
  servers.push(s);
  return s.url;
}

interface Choice {
  message: { content: string };
  safealign_guard?: GuardVerdict;
}

async function chat(url: string, seed: number): Promise<Choice[]> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'model', messages: [{ role: 'user', content: PROMPT }], max_tokens: 8, seed }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { choices: Choice[] }).choices;
}

describe('the guardrail with a severity classifier (--guard-severity)', () => {
  it('refuses an answer predicted severe after the last round, with each round\'s level and class probabilities in the response and the log', async () => {
    const url = await start({ severity: severe, maxSeverity: 'moderate', rounds: 2 });
    const [c] = await chat(url, 3);
    expect(c?.message.content).toBe(REFUSAL);
    const v = c?.safealign_guard;
    expect(v).toMatchObject({ decision: 'refused', regenerations: 2, maxSeverity: 'moderate' });
    expect(v?.scores).toBeUndefined();
    expect(v?.severity).toHaveLength(3);
    for (const s of v?.severity ?? []) {
      expect(s).toMatchObject({ level: 3, label: 'severe' });
      expect(s.probs).toHaveLength(4);
      expect(s.probs[3]).toBeCloseTo(1, 4);
    }
    const logged = readFileSync(join(dir, 'guard.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { choices: GuardVerdict[] });
    expect(logged.at(-1)?.choices[0]?.severity?.[0]).toMatchObject({ level: 3, label: 'severe' });
  });

  it('passes an answer predicted safe; together with --guard-cost an answer is flagged by either', async () => {
    const [p] = await chat(await start({ severity: safe }), 3);
    expect(p?.safealign_guard).toMatchObject({ decision: 'pass', regenerations: 0, maxSeverity: 'minor', severity: [{ level: 0, label: 'safe' }] });
    expect(p?.message.content).not.toBe(REFUSAL);
    // cost lets everything through, severity flags: refused; cost flags, severity lets through: refused
    const [a] = await chat(await start({ cost, threshold: 1e9, severity: severe, rounds: 0 }), 3);
    expect(a?.safealign_guard).toMatchObject({ decision: 'refused', threshold: 1e9, maxSeverity: 'minor' });
    expect(a?.safealign_guard?.scores).toHaveLength(1);
    const [b] = await chat(await start({ cost, threshold: -1e9, severity: safe, rounds: 0 }), 3);
    expect(b?.safealign_guard).toMatchObject({ decision: 'refused', severity: [{ level: 0 }] });
    const [n] = await chat(await start({ cost, threshold: 1e9, severity: safe, rounds: 0 }), 3);
    expect(n?.safealign_guard?.decision).toBe('pass');
  });

  it('regenerates until an answer is at most the allowed level (the level from the cutpoints: 0 | 1 | 2 | 3)', async () => {
    // two answers whose scores differ; a head bias that puts their midpoint at the second cutpoint (1):
    // the higher one is moderate or severe (flagged at max minor), the lower one minor or safe
    const texts = ['the cat sat on the mat', 'fire fire road car fast'];
    const plain = scorer(cost, 'cost', 1000);
    const raw = scoreTexts(plain, texts.map((response) => ({ prompt: PROMPT, response }))).scores as [number, number];
    expect(Math.abs(raw[0] - raw[1])).toBeGreaterThan(1e-3);
    const sevDir = severityFolder('split', 1 - (raw[0] + raw[1]) / 2);
    const judge = scorer(sevDir, 'cost', 1000);
    const guard = new Guard({ severity: { ...judge, model: judge.model as ScoreModel } }, GuardConfigSchema.parse({ severity: sevDir, maxSeverity: 'minor', rounds: 3 }));
    const [hi, lo] = raw[0] > raw[1] ? [0, 1] : [1, 0];
    const order = [texts[hi] as string, texts[lo] as string];
    const r = await guard.run({ prompt: PROMPT }, async (round) => ({ text: order[Math.min(round, 1)] as string }));
    expect(r.refused).toBe(false);
    expect(r.answer.text).toBe(texts[lo]);
    expect(r.verdict.decision).toBe('regenerated');
    expect(r.verdict.regenerations).toBe(1);
    const [first, second] = r.verdict.severity ?? [];
    expect(first?.level).toBeGreaterThanOrEqual(2);
    expect(second?.level).toBeLessThanOrEqual(1);
    // the probabilities say the same: P(level >= 2) above one half for the flagged answer only
    const above = (p: number[] | undefined) => (p?.[2] ?? 0) + (p?.[3] ?? 0);
    expect(above(first?.probs)).toBeGreaterThan(0.5);
    expect(above(second?.probs)).toBeLessThan(0.5);
    // max 'moderate' lets the first answer through at once unless it is severe
    const lenient = new Guard({ severity: { ...judge, model: judge.model as ScoreModel } }, GuardConfigSchema.parse({ severity: sevDir, maxSeverity: 'moderate', rounds: 3 }));
    const l = await lenient.run({ prompt: PROMPT }, async () => ({ text: texts[hi] as string }));
    expect(l.verdict.decision).toBe(first?.level === 3 ? 'refused' : 'pass');
  });

  it('refuses a folder without a severity head, saying how to train one', async () => {
    await expect(serveModel(ServeConfigSchema.parse({ model, port: 0, guard: { severity: cost } }))).rejects.toThrow(/without a severity head; train one with `safealign train cost --cost-data severity`/);
  });
});
