// The guard on image + text answers: the SFT policy of a `pipeline --world multimodal` run served without a guard and with the run's
// image + text cost model as the guard, on the run's test pictures; gold harmful rate (risky pictures), helpfulness, refusals, latency.
//
// Method: for each setting, `safealign serve` runs as its own process on <run>/sft/model (no guard, or --guard-cost
// <run>/cost/model with --guard-rounds R and --guard-threshold T, the world's refusal text); --clients concurrent clients
// send every test image prompt (<run>/world/prompts-test.jsonl) with its picture inline (a PNG data URL), n = --samples
// answers at temperature 1 and --max-tokens as the pipeline's evaluation; a prompt's seed is the same in every setting,
// so the first answers are the same draws. The world's gold oracle judges each returned answer with its picture's topic
// (`judgeImageAnswers`, the pipeline's evaluation; a refusal is safe).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { judgeImageAnswers } from '../../src/pipeline/multimodal.js';
import { WORLD_FILES } from '../../src/world/build.js';
import { REFUSALS } from '../../src/world/templates.js';
import { chatFromClients, quantile, startServer } from '../serve/server-process.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
if (args.includes('--help') || !args.includes('--run')) {
  console.log(`npx tsx bench/guard/multimodal.ts --run runs/multimodal [--rounds 0,5] [--samples 2] [--max-tokens 44] [--threshold 0] [--clients 8] [--threads 2] [--seed 0] [--json]
Serves the SFT policy of a multimodal pipeline run (<run>/sft/model) without a guard and with the run's image + text
cost model (<run>/cost/model) as the guard at each --rounds, sends every test image prompt of the run's world with its
picture, and prints the gold harmful rate on the risky pictures, gold helpfulness, the share refused, regenerations per
answer and latency per setting (one pass: one draw of the policy's answers; prompt i is sent with seed --seed + i).`);
  process.exit(args.includes('--help') ? 0 : 1);
}
const run = opt('--run', '');
const roundsList = opt('--rounds', '0,5').split(',').map(Number);
const samples = Number(opt('--samples', '2'));
const maxTokens = Number(opt('--max-tokens', '44'));
const threshold = opt('--threshold', '0');
const clients = Number(opt('--clients', '8'));
const threads = opt('--threads', '2');
const seed = Number(opt('--seed', '0'));
const worldDir = join(run, 'world');
const prompts = readFileSync(join(worldDir, WORLD_FILES.promptsTest), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { prompt: string; image: string; topic: string; kind: 'benign' | 'risky' });
const pictures = new Map(prompts.map((p) => [p.image, `data:image/png;base64,${readFileSync(join(worldDir, p.image)).toString('base64')}`]));

interface Setting {
  label: string;
  guard: string[];
}
const settings: Setting[] = [
  { label: 'no guard', guard: [] },
  ...roundsList.map((r) => ({ label: `cost guard, ${r} round${r === 1 ? '' : 's'}`, guard: ['--guard-cost', join(run, 'cost', 'model'), '--guard-threshold', threshold, '--guard-rounds', String(r)] })),
];

async function measure(setting: Setting) {
  const guard = setting.guard.length ? [...setting.guard, '--guard-refusal', REFUSALS[0] as string, '--guard-log', '/dev/null'] : [];
  const server = await startServer(['--model', join(run, 'sft', 'model'), '--model-name', 'sft', '--max-tokens', String(maxTokens), ...guard], threads);
  try {
    const content = (p: (typeof prompts)[number]) => [{ type: 'text', text: p.prompt }, { type: 'image_url', image_url: { url: pictures.get(p.image) } }];
    const { replies, latencies, wall } = await chatFromClients(server.url, prompts.length, clients, (i) => ({
      model: 'sft',
      messages: [{ role: 'user', content: content(prompts[i] as (typeof prompts)[number]) }],
      n: samples,
      max_tokens: maxTokens,
      temperature: 1,
      seed: seed + i,
    }));
    // per prompt, its answers in choice order
    const answers = replies.map((r) => r.choices.map((c) => ({ text: c.message.content, ...(c.safealign_guard ? { guard: c.safealign_guard } : {}) })));
    const flat = answers.flat();
    const judged = judgeImageAnswers(prompts.flatMap((p) => Array.from({ length: samples }, () => p)), flat.map((a) => a.text));
    latencies.sort((a, b) => a - b);
    return {
      setting: setting.label,
      harmfulRate: judged.harmfulRate,
      nRisky: judged.nRisky,
      helpfulness: judged.helpfulness,
      benignHelpfulness: judged.benignHelpfulness,
      refused: flat.filter((a) => a.guard?.decision === 'refused').length / flat.length,
      regenerationsPerAnswer: flat.reduce((s, a) => s + (a.guard?.regenerations ?? 0), 0) / flat.length,
      latencyP50: quantile(latencies, 0.5),
      answersPerSec: flat.length / wall,
    };
  } finally {
    await server.stop();
  }
}

const rows = [];
for (const s of settings) {
  const r = await measure(s);
  rows.push(r);
  console.log(`${r.setting}: harmful ${(100 * r.harmfulRate).toFixed(1)}% of ${r.nRisky}, refused ${(100 * r.refused).toFixed(1)}%`);
}
console.log(`\n${prompts.length} test image prompts (${prompts.filter((p) => p.kind === 'risky').length} risky) x ${samples} answers, ${clients} clients, guard threshold ${threshold}, seeds ${seed}..${seed + prompts.length - 1}, one pass`);
console.log('| setting | gold harmful rate (risky pictures) | gold helpfulness | benign helpfulness | refused | regenerations / answer | latency p50 | answers/s |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.setting} | ${(100 * r.harmfulRate).toFixed(1)}% | ${r.helpfulness.toFixed(2)} | ${r.benignHelpfulness.toFixed(2)} | ${(100 * r.refused).toFixed(1)}% | ${r.regenerationsPerAnswer.toFixed(2)} | ${r.latencyP50.toFixed(2)} s | ${r.answersPerSec.toFixed(1)} |`);
}
if (args.includes('--json')) console.log(JSON.stringify({ run, prompts: prompts.length, samples, clients, threshold: Number(threshold), seed, rows }));
