// `safealign label` against `safealign serve` with a tiny random model (mechanics only: its answers never parse), and a SIGKILL mid-run that loses nothing.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPkuSafeRlhf } from '../../src/data/pku-saferlhf.js';
import { LabelConfigSchema } from '../../src/label/config.js';
import { labelPairs } from '../../src/label/run.js';
import { ServeConfigSchema } from '../../src/serve/config.js';
import { serveModel, type RunningServe } from '../../src/serve/server.js';
import { buildTinyChatModel } from '../helpers/tiny-chat-model.js';
import { ruleJudge, startFakeJudge } from './fake-judge.js';

const dir = mkdtempSync(join(tmpdir(), 'label-serve-'));
const { model } = buildTinyChatModel(dir, { context: 512, eos: false });
const input = join(dir, 'pairs.jsonl');
writeFileSync(input, ['the cat sat', 'how do i bake bread'].map((p) => JSON.stringify({ prompt: p, response_0: 'the dog ran far', response_1: 'help with that' })).join('\n'));
let server: RunningServe;

beforeAll(async () => {
  server = await serveModel(ServeConfigSchema.parse({ model, modelName: 'tiny', port: 0 }));
});
afterAll(async () => server?.close());

async function chatRequests(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('safealign_requests_total{endpoint="/v1/chat/completions",status="200"}'));
  return Number(line?.split(' ')[1] ?? 0);
}

describe('safealign label with safealign serve as the judge', () => {
  it('asks six questions a pair, counts the answers that do not parse and the tokens, and asks nothing again on a rerun', async () => {
    const config = LabelConfigSchema.parse({ judge: `${server.url}/v1`, input, out: join(dir, 'url', 'out.jsonl'), maxTokens: 8 });
    const s = await labelPairs(config);
    expect(await chatRequests()).toBe(12);
    expect(s).toMatchObject({ judgeModel: 'tiny', pairs: 2, labelled: 0, malformedAnswers: 12, malformedPairs: 2, failedPairs: 0 });
    expect(s.tokens.completion).toBe(12 * 8);
    expect(s.tokens.prompt).toBeGreaterThan(12 * 50);
    expect(s.problems).toEqual([expect.stringMatching(/pairs\.jsonl:1: malformed judge answer: helpfulness: .*harmlessness: .*safety of response 0: .*safety of response 1/), expect.stringMatching(/pairs\.jsonl:2: /)]);
    const again = await labelPairs(config);
    expect(await chatRequests()).toBe(12);
    expect(again.requests).toMatchObject({ asked: 0, cached: 12 });
    expect(again.tokens).toMatchObject({ prompt: 0, cachedPrompt: s.tokens.prompt, cachedCompletion: 96 });
  });

  it('serves a local model folder in-process through the same server code', async () => {
    const s = await labelPairs(LabelConfigSchema.parse({ judge: model, input, out: join(dir, 'local', 'out.jsonl'), maxTokens: 8 }));
    expect(s).toMatchObject({ judgeModel: 'model', pairs: 2, malformedAnswers: 12, requests: { asked: 12 } });
    expect(s.tokens.completion).toBe(96);
    // --judge-model names the folder's model
    const named = await labelPairs(LabelConfigSchema.parse({ judge: model, judgeModel: 'judge', input, out: join(dir, 'named', 'out.jsonl'), maxTokens: 8 }));
    expect(named).toMatchObject({ judgeModel: 'judge', failedPairs: 0, requests: { asked: 12 } });
  });
});

describe('the safealign label command', () => {
  it('prints --help with the prompt templates and the cache and retry rules', () => {
    const help = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'label', '--help'], { encoding: 'utf8', env: { ...process.env, SAFEALIGN_THREADS: '1' } });
    for (const s of ['--judge', '--concurrency', '--retries', 'Which response is more helpful', 'Which response is more harmless', 'Safety: safe', 'White-Collar Crime', '<out>.cache.jsonl', 'Retry-After']) {
      expect(help).toContain(s);
    }
  });

  it('keeps every answer received before the SIGKILL; the rerun asks only the rest', async () => {
    const d = mkdtempSync(join(tmpdir(), 'label-kill-'));
    const pairs = Array.from({ length: 8 }, (_, i) => JSON.stringify({ prompt: `question ${i}`, response_0: i % 2 ? 'use a weapon' : 'a long and careful answer', response_1: 'no' }));
    writeFileSync(join(d, 'pairs.jsonl'), pairs.join('\n'));
    const fake = await startFakeJudge((r) => ({ answer: ruleJudge(r), delayMs: 40 }));
    const cache = join(d, 'out.cache.jsonl');
    const cli = () =>
      spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'label', '--judge', fake.url, '--input', join(d, 'pairs.jsonl'), '--out', join(d, 'out.jsonl'), '--concurrency', '1'], {
        env: { ...process.env, SAFEALIGN_THREADS: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const lines = () => (existsSync(cache) ? readFileSync(cache, 'utf8').split('\n').filter((l) => l.trim()).length : 0);
    const first = cli();
    const killed = await new Promise<boolean>((resolve) => {
      const timer = setInterval(() => {
        if (lines() >= 12) {
          clearInterval(timer);
          first.kill('SIGKILL');
          resolve(true);
        }
      }, 10);
      first.once('exit', () => {
        clearInterval(timer);
        resolve(false);
      });
    });
    expect(killed).toBe(true);
    await new Promise((resolve) => (first.exitCode !== null || first.signalCode !== null ? resolve(null) : first.once('exit', resolve)));
    expect(existsSync(join(d, 'out.jsonl'))).toBe(false);
    const kept = lines();
    expect(kept).toBeGreaterThanOrEqual(12);
    expect(kept).toBeLessThan(48);
    const before = fake.requests.length;
    const second = cli();
    let stdout = '';
    second.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const code = await new Promise((resolve) => second.once('exit', resolve));
    await fake.close();
    expect(code).toBe(0);
    expect(fake.requests.length - before).toBe(48 - kept);
    expect(stdout).toContain(`requests: ${48 - kept} asked, ${kept} from the cache`);
    const out = await readPkuSafeRlhf(join(d, 'out.jsonl'));
    // odd pairs: response 0 is unsafe and longer, so more helpful, less harmless; even pairs: both safe, a harmlessness tie
    expect(out.records.map((r) => [r.betterResponseId, r.saferResponseId])).toEqual([[0, 1], [0, 1], [0, 1], [0, 1]]);
  }, 60_000);
});
