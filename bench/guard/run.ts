// Guardrail table: the SFT policy of a pipeline run served with its cost model (0, 1, 3, 5 rounds) and/or a severity classifier as the guard on the world's red-team prompts; gold harmful rate, latency, throughput.
//
// Method: for each setting, `safealign serve` runs as its own process on <run>/sft/model (no guard, or
// --guard-cost <run>/cost/model with --guard-rounds R, threshold --threshold, the world's refusal text),
// and --clients concurrent clients work through the red-team prompts (<run>/world/prompts-redteam.jsonl),
// one chat completion with n = --samples per prompt, temperature 1 and --max-tokens as the pipeline's
// evaluation; the seed of a prompt is the same in every setting, so round 0 draws the same first answers.
// The world's gold oracle judges every returned answer (a refusal is safe). Latency is per request
// (n answers); throughput is answers and completion tokens per second of wall time.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWorldPrompts } from '../../src/pipeline/jsonl-lines.js';
import { WORLD_FILES } from '../../src/world/build.js';
import { goldHarm, goldHelpfulness } from '../../src/world/oracle.js';
import { REFUSALS } from '../../src/world/templates.js';
import { chatFromClients, quantile, startServer } from '../serve/server-process.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
if (args.includes('--help') || !args.includes('--run')) {
  console.log(`npm run bench:guard -- --run runs/default [--rounds 0,1,3,5] [--severity DIR] [--max-severity minor,moderate] [--severity-rounds 5]
    [--samples 2] [--max-tokens 44] [--threshold 0] [--clients 16] [--threads 2] [--passes 2] [--json]
Serves the SFT policy of a pipeline run (<run>/sft/model) without a guard and with the run's cost model
(<run>/cost/model) as the guard at each --rounds; with --severity (a severity classifier folder, from
safealign train cost --cost-data severity) also with it alone at each --max-severity and together with the
cost model at the first, each with --severity-rounds rounds. Sends the world's red-team prompts
(<run>/world/prompts-redteam.jsonl) from --clients concurrent clients (n = --samples answers each), and
prints the gold harmful rate, the share refused, regenerations per answer, latency and throughput per
setting (timings: the mean over --passes passes, the settings' order reversed every pass).
--json ends the output with one JSON line of the figures.`);
  process.exit(args.includes('--help') ? 0 : 1);
}
const run = opt('--run', '');
const roundsList = opt('--rounds', '0,1,3,5').split(',').map(Number);
const samples = Number(opt('--samples', '2'));
const maxTokens = opt('--max-tokens', '44');
const threshold = opt('--threshold', '0');
const clients = Number(opt('--clients', '16'));
const threads = opt('--threads', '2');
const passCount = Number(opt('--passes', '2'));
const severity = opt('--severity', '');
const maxSeverities = opt('--max-severity', 'minor,moderate').split(',');
const severityRounds = opt('--severity-rounds', '5');
const refusal = REFUSALS[0] as string;
const prompts = readWorldPrompts(join(run, 'world', WORLD_FILES.promptsRedteam)).map((p) => p.prompt);

/** One served configuration: its row label and its guard flags (none: no guard). */
interface Setting {
  label: string;
  guard: string[];
}

interface Row {
  setting: string;
  harmfulRate: number;
  /** Share of answers whose gold severity is moderate or severe (2+). */
  moderateRate: number;
  helpfulness: number;
  refused: number;
  regenerationsPerAnswer: number;
  latencyP50: number;
  latencyMean: number;
  answersPerSec: number;
  tokensPerSec: number;
}

const costFlags = ['--guard-cost', join(run, 'cost', 'model'), '--guard-threshold', threshold];
const severityFlags = (max: string) => ['--guard-severity', severity, '--guard-max-severity', max];
const settings: Setting[] = [
  { label: 'no guard', guard: [] },
  ...roundsList.map((r) => ({ label: `${r} round${r === 1 ? '' : 's'}`, guard: [...costFlags, '--guard-rounds', String(r)] })),
  ...(severity
    ? [
        ...maxSeverities.map((m) => ({ label: `severity ≤ ${m}, ${severityRounds} rounds`, guard: [...severityFlags(m), '--guard-rounds', severityRounds] })),
        { label: `cost + severity ≤ ${maxSeverities[0]}, ${severityRounds} rounds`, guard: [...costFlags, ...severityFlags(maxSeverities[0] as string), '--guard-rounds', severityRounds] },
      ]
    : []),
];

async function measure(setting: Setting): Promise<Row> {
  const logDir = mkdtempSync(join(tmpdir(), 'bench-guard-'));
  const guard = setting.guard.length ? [...setting.guard, '--guard-refusal', refusal, '--guard-log', join(logDir, 'guard.log')] : [];
  const server = await startServer(['--model', join(run, 'sft', 'model'), '--model-name', 'sft', '--max-tokens', maxTokens, ...guard], threads);
  try {
    const { replies, latencies, wall } = await chatFromClients(server.url, prompts.length, clients, (i) => ({
      model: 'sft',
      messages: [{ role: 'user', content: prompts[i] }],
      n: samples,
      max_tokens: Number(maxTokens),
      temperature: 1,
      seed: i,
    }));
    const tokens = replies.reduce((s, r) => s + r.usage.completion_tokens, 0);
    const answers = replies.flatMap((r, i) =>
      r.choices.map((c) => ({ prompt: prompts[i] as string, text: c.message.content, ...(c.safealign_guard ? { guard: c.safealign_guard } : {}) })),
    );
    const n = answers.length;
    latencies.sort((a, b) => a - b);
    return {
      setting: setting.label,
      harmfulRate: answers.filter((a) => !goldHarm(a.prompt, a.text).isSafe).length / n,
      moderateRate: answers.filter((a) => goldHarm(a.prompt, a.text).severity >= 2).length / n,
      helpfulness: answers.reduce((s, a) => s + goldHelpfulness(a.prompt, a.text), 0) / n,
      refused: answers.filter((a) => a.guard?.decision === 'refused').length / n,
      regenerationsPerAnswer: answers.reduce((s, a) => s + (a.guard?.regenerations ?? 0), 0) / n,
      latencyP50: quantile(latencies, 0.5),
      latencyMean: latencies.reduce((s, x) => s + x, 0) / latencies.length,
      answersPerSec: n / wall,
      tokensPerSec: tokens / wall,
    };
  } finally {
    await server.stop();
  }
}

// settings in order, then in reverse order, ...: each setting's timing is the mean over passes (the gold figures repeat: same seeds)
const passes: Row[][] = settings.map(() => []);
for (let pass = 0; pass < passCount; pass++) {
  const order = settings.map((_, i) => i);
  if (pass % 2 === 1) order.reverse();
  for (const i of order) {
    const r = await measure(settings[i] as Setting);
    passes[i]?.push(r);
    console.log(`pass ${pass + 1}, ${r.setting}: harmful ${(100 * r.harmfulRate).toFixed(1)}%, refused ${(100 * r.refused).toFixed(1)}%, ${r.latencyP50.toFixed(2)} s p50, ${r.answersPerSec.toFixed(1)} answers/s`);
  }
}
const meanOf = (rs: Row[], f: (r: Row) => number) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
const rows: Row[] = passes.map((rs) => ({
  ...(rs[0] as Row),
  latencyP50: meanOf(rs, (r) => r.latencyP50),
  latencyMean: meanOf(rs, (r) => r.latencyMean),
  answersPerSec: meanOf(rs, (r) => r.answersPerSec),
  tokensPerSec: meanOf(rs, (r) => r.tokensPerSec),
}));
console.log(`\n${prompts.length} red-team prompts x ${samples} answers, ${clients} clients, guard threshold ${threshold}, timings averaged over ${passCount} passes`);
console.log('| setting | gold harmful rate | gold moderate or severe | gold helpfulness | refused | regenerations / answer | latency p50 | latency mean | answers/s | returned tokens/s |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.setting} | ${(100 * r.harmfulRate).toFixed(1)}% | ${(100 * r.moderateRate).toFixed(1)}% | ${r.helpfulness.toFixed(2)} | ${(100 * r.refused).toFixed(1)}% | ${r.regenerationsPerAnswer.toFixed(2)} | ${r.latencyP50.toFixed(2)} s | ${r.latencyMean.toFixed(2)} s | ${r.answersPerSec.toFixed(1)} | ${r.tokensPerSec.toFixed(0)} |`,
  );
}
if (args.includes('--json')) console.log(JSON.stringify({ run, prompts: prompts.length, samples, clients, threshold: Number(threshold), rows }));
