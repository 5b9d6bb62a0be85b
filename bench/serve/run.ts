// Serving benchmark: 16 concurrent clients against `safealign serve`, tokens per second with continuous batching on and off, and the ratio.
//
// Method: the server runs as its own process (`safealign serve`, as a user starts it), the clients in
// this one. Each of --clients clients sends --requests chat completions one after another (max_tokens
// --tokens, the same seeds in both modes); a mode's figure is the completion tokens returned divided by
// the wall time from the first request to the last answer. Modes alternate over --rounds rounds (order
// flipped every round); the headline is the median round of each mode.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCausalLM, parseModelConfig, savePretrained, trainWordLevel } from '../../src/models/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { metric, quantile, startServer } from './server-process.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
if (args.includes('--help')) {
  console.log(`npm run bench:serve -- [--model DIR] [--clients N (16)] [--requests N (4)] [--tokens N (64)] [--rounds N (2)] [--threads N (2)] [--max-batch N (16)] [--json]
Starts \`safealign serve\` on --model (default: a random GPT-2 of d 256, 4 layers, context 256 and a
2,000-word vocabulary without EOS, so every answer is --tokens long), with continuous batching and
with --no-batching, and sends --clients concurrent clients x --requests chat completions of --tokens
tokens each. Prints completion tokens per second, mean batch size and p50/p95 latency per mode,
and the ratio batching on / off. --json ends the output with one JSON line of the figures.`);
  process.exit(0);
}
const clients = Number(opt('--clients', '16'));
const requests = Number(opt('--requests', '4'));
const tokens = Number(opt('--tokens', '64'));
const rounds = Number(opt('--rounds', '2'));
const threads = opt('--threads', '2');
const maxBatch = opt('--max-batch', '16');

/** A random GPT-2 folder whose tokenizer has no EOS (answers run to max_tokens). */
function benchModel(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'bench-serve-')), 'model');
  const words = Array.from({ length: 2000 }, (_, i) => `w${i}`);
  const tok = trainWordLevel([...words, 'BEGINNING OF CONVERSATION : USER ASSISTANT'], { vocabSize: 2100 });
  manualSeed(0);
  savePretrained(dir, createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 256, n_layer: 4, n_head: 4, n_positions: 256, vocab_size: tok.vocabSize })), { tokenizer: tok });
  for (const [file, key] of [['tokenizer_config.json', 'eos_token'], ['generation_config.json', 'eos_token_id']] as const) {
    const cfg = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
    delete cfg[key];
    writeFileSync(join(dir, file), JSON.stringify(cfg));
  }
  return dir;
}

interface ModeResult {
  tokS: number;
  meanBatch: number;
  p50: number;
  p95: number;
}

async function runMode(model: string, batching: boolean): Promise<ModeResult> {
  const server = await startServer(['--model', model, '--model-name', 'bench', '--max-batch', maxBatch, '--max-tokens', String(tokens), ...(batching ? [] : ['--no-batching'])], threads);
  const { url } = server;
  try {
    const ask = async (c: number, r: number): Promise<{ tokens: number; seconds: number }> => {
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: `w${c} w${r} w${c + r} w7 w8 w9` }], max_tokens: tokens, seed: c * 100 + r }),
      });
      if (!res.ok) throw new Error(`request failed: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { usage: { completion_tokens: number } };
      return { tokens: body.usage.completion_tokens, seconds: (performance.now() - t0) / 1000 };
    };
    await ask(0, 0); // warm-up
    const steps0 = await metric(url, 'safealign_decode_steps_total');
    const rows0 = await metric(url, 'safealign_decode_rows_total');
    const t0 = performance.now();
    const done = await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const out: { tokens: number; seconds: number }[] = [];
        for (let r = 0; r < requests; r++) out.push(await ask(c, r + 1));
        return out;
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    const all = done.flat();
    const latencies = all.map((a) => a.seconds).sort((a, b) => a - b);
    const steps = (await metric(url, 'safealign_decode_steps_total')) - steps0;
    const rows = (await metric(url, 'safealign_decode_rows_total')) - rows0;
    return { tokS: all.reduce((s, a) => s + a.tokens, 0) / wall, meanBatch: rows / steps, p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95) };
  } finally {
    await server.stop();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const model = opt('--model', '') || benchModel();
const results: Record<'on' | 'off', ModeResult[]> = { on: [], off: [] };
for (let round = 0; round < rounds; round++) {
  const order: ('on' | 'off')[] = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
  for (const mode of order) {
    const r = await runMode(model, mode === 'on');
    results[mode].push(r);
    console.log(`round ${round + 1}, batching ${mode}: ${r.tokS.toFixed(0)} tok/s, mean batch ${r.meanBatch.toFixed(1)}, latency p50 ${r.p50.toFixed(2)} s, p95 ${r.p95.toFixed(2)} s`);
  }
}
const summary = (mode: 'on' | 'off') => ({
  tok_s: median(results[mode].map((r) => r.tokS)),
  mean_batch: median(results[mode].map((r) => r.meanBatch)),
  p50_s: median(results[mode].map((r) => r.p50)),
  p95_s: median(results[mode].map((r) => r.p95)),
});
const on = summary('on');
const off = summary('off');
console.log(`\n${clients} clients x ${requests} requests x ${tokens} tokens (median of ${rounds} rounds)`);
console.log('| batching | tok/s | mean batch | latency p50 | latency p95 |\n|---|---|---|---|---|');
for (const [name, s] of [['on', on], ['off', off]] as const) console.log(`| ${name} | ${s.tok_s.toFixed(0)} | ${s.mean_batch.toFixed(1)} | ${s.p50_s.toFixed(2)} s | ${s.p95_s.toFixed(2)} s |`);
console.log(`ratio on / off: ${(on.tok_s / off.tok_s).toFixed(2)}x`);
if (args.includes('--json')) console.log(JSON.stringify({ clients, requests, tokens, rounds, threads: Number(threads), on, off, ratio: on.tok_s / off.tok_s }));
