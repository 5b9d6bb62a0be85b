// Engine benchmark: train step, forward and KV-cache generation tok/s of the library GPT-2, beside PyTorch doing the same work.
//
// Method: PyTorch runs as a worker process (bench/engine/torch_ref.py) for the whole run. The two
// engines take turns in short blocks (one untimed warm-up, then a few timed iterations), the order
// flipping every block and a pause before each so the other side's idle threads have gone to sleep:
// both sides sample the same machine conditions, which drift on a shared VM by more than the
// differences being measured. Every iteration is timed; the headline figure is the median iteration
// (the fastest one, also shown, swung by +-15% between runs here: it measures lucky scheduling).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCausalLM, generate, parseModelConfig } from '../../src/models/index.js';
import { AdamW, crossEntropy, manualSeed, noGrad, ones, randint, setNumThreads, tidy } from '../../src/torch/index.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : NaN;
};
if (args.includes('--help')) {
  console.log(`npm run bench:engine -- [--threads N (2)] [--blocks N (6)] [--quick] [--verbose] [--json]
Train step, forward pass and KV-cache generation of the DESIGN.md §1 GPT, in safealign and in
PyTorch (Debian's python3-torch), alternating blocks; prints tokens/s of both and the ratio.
Also prints tokens per process CPU second (both sides' every thread), less disturbed by other work
on a shared machine than wall-clock. --verbose prints every block's iteration times (ms) to stderr;
--json ends the output with one JSON line of the figures (cpu_*_tok_s for the CPU ones).`);
  process.exit(0);
}
const json = args.includes('--json');
const verbose = args.includes('--verbose');
const threads = flag('--threads') || 2;
const quick = args.includes('--quick');
const blocks = quick ? 1 : flag('--blocks') || 6;
/** Timed iterations per block. */
const perBlock = { train: quick ? 2 : 5, fwd: quick ? 3 : 8, gen: quick ? 1 : 2 };
/** Pause before each block: OpenBLAS's idle threads spin for ~0.1 s before they sleep. */
const settleMs = 300;
const [V, T, B] = [2048, 64, 16];
const tokens = { train: B * T, fwd: B * T, gen: 16 * 32 };
type Kind = keyof typeof tokens;

setNumThreads(threads);
manualSeed(0);
const model = createCausalLM(
  parseModelConfig({ model_type: 'gpt2', n_embd: 256, n_layer: 4, n_head: 4, n_positions: T, vocab_size: V, tie_word_embeddings: false }),
);
const opt = new AdamW(model.parameters(), { lr: 3e-4 });
const ids = randint(0, V, [B, T]);
const mask = ones([B, T], { dtype: 'int64' });
const prompts = randint(0, V, [16, 16]);
const pmask = ones([16, 16], { dtype: 'int64' });

const work: Record<Kind, () => void> = {
  train: () =>
    tidy(() => {
      opt.zeroGrad();
      const { logits } = model.forward(ids, mask);
      crossEntropy(logits.narrow(1, 0, T - 1).reshape([-1, V]), ids.narrow(1, 1, T - 1).reshape([-1])).backward();
      opt.step();
    }),
  fwd: () => noGrad(() => tidy(() => void model.forward(ids, mask))),
  gen: () => tidy(() => void generate(model, prompts, pmask, { maxNewTokens: 32, greedy: true, padId: 0 })),
};

/** Wall-clock and process CPU seconds (every thread's) of each of n iterations. */
interface Times {
  wall: number[];
  cpu: number[];
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Times of n iterations, after one warm-up iteration. */
function ours(kind: Kind, n: number): Times {
  model.train(kind === 'train');
  work[kind]();
  const times: Times = { wall: [], cpu: [] };
  for (let i = 0; i < n; i++) {
    const [t0, c0] = [performance.now(), cpuSeconds()];
    work[kind]();
    times.wall.push((performance.now() - t0) / 1000);
    times.cpu.push(cpuSeconds() - c0);
  }
  return times;
}

const worker = spawn('/usr/bin/python3', ['bench/engine/torch_ref.py', '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
let workerErr = '';
worker.stderr.on('data', (d: Buffer) => (workerErr += d.toString()));
worker.on('error', (e) => {
  console.error(`cannot start the PyTorch reference (/usr/bin/python3): ${e.message}. Install it: apt-get install -y python3-torch`);
  process.exit(1);
});
const replies = createInterface({ input: worker.stdout })[Symbol.asyncIterator]();

async function theirs(kind: Kind, n: number): Promise<Times> {
  worker.stdin.write(`${kind} ${n}\n`);
  const r = await replies.next();
  if (r.done) {
    console.error(`PyTorch reference failed (needs Debian's python3-torch: apt-get install -y python3-torch):\n${workerErr}`);
    process.exit(1);
  }
  return JSON.parse(r.value as string) as Times;
}

const noTimes = (): Record<Kind, Times> => ({ train: { wall: [], cpu: [] }, fwd: { wall: [], cpu: [] }, gen: { wall: [], cpu: [] } });
const secs = { ours: noTimes(), torch: noTimes() };
for (const kind of ['train', 'fwd', 'gen'] as const) {
  for (let b = 0; b < blocks; b++) {
    for (const side of b % 2 === 0 ? (['ours', 'torch'] as const) : (['torch', 'ours'] as const)) {
      await sleep(settleMs);
      const xs = side === 'ours' ? ours(kind, perBlock[kind]) : await theirs(kind, perBlock[kind]);
      if (verbose) console.error(`${kind} block ${b} ${side.padEnd(5)} ms: ${xs.wall.map((x) => (x * 1000).toFixed(1)).join(' ')}`);
      secs[side][kind].wall.push(...xs.wall);
      secs[side][kind].cpu.push(...xs.cpu);
    }
  }
}
worker.stdin.end('quit\n');

/**
 * Tokens/s of the median iteration (`*_tok_s`), of the fastest one (`*_tok_s_fastest`), and per CPU second of the median
 * iteration's CPU time (`cpu_*_tok_s`: tokens ÷ process CPU seconds, which other work on a shared machine disturbs less).
 */
function figures(s: Record<Kind, Times>) {
  const rate = (kind: Kind, q: 'fastest' | 'median', clock: keyof Times = 'wall') => {
    const xs = [...s[kind][clock]].sort((a, b) => a - b);
    return tokens[kind] / (xs[q === 'fastest' ? 0 : Math.floor(xs.length / 2)] as number);
  };
  return {
    train_tok_s: rate('train', 'median'),
    fwd_tok_s: rate('fwd', 'median'),
    gen_tok_s: rate('gen', 'median'),
    train_tok_s_fastest: rate('train', 'fastest'),
    fwd_tok_s_fastest: rate('fwd', 'fastest'),
    gen_tok_s_fastest: rate('gen', 'fastest'),
    cpu_train_tok_s: rate('train', 'median', 'cpu'),
    cpu_fwd_tok_s: rate('fwd', 'median', 'cpu'),
    cpu_gen_tok_s: rate('gen', 'median', 'cpu'),
  };
}
const ourFigures = figures(secs.ours);
const torchFigures = figures(secs.torch);
const f0 = (x: number) => x.toFixed(0);
const row = (label: string, k: Kind) => {
  const [a, b] = [ourFigures[`${k}_tok_s`], torchFigures[`${k}_tok_s`]];
  const [am, bm] = [ourFigures[`${k}_tok_s_fastest`], torchFigures[`${k}_tok_s_fastest`]];
  return `${label.padEnd(30)} ${f0(a).padStart(8)} ${f0(b).padStart(8)} ${(a / b).toFixed(2).padStart(6)}x   ${f0(am).padStart(8)} ${f0(bm).padStart(8)} ${(am / bm).toFixed(2).padStart(6)}x`;
};
console.log(`GPT (vocab ${V}, ctx ${T}, d 256, 4 layers, 4 heads, batch ${B}), ${threads} threads`);
console.log(
  `${blocks} alternating blocks per figure; iterations per side: train ${blocks * perBlock.train}, forward ${blocks * perBlock.fwd}, generate ${blocks * perBlock.gen}`,
);
console.log(`${'tokens/s'.padEnd(30)} ${'---- median iteration ----'.padStart(26)}   ${'--- fastest iteration ---'.padStart(26)}`);
console.log(`${''.padEnd(30)} ${'ours'.padStart(8)} ${'PyTorch'.padStart(8)} ${'ratio'.padStart(7)}   ${'ours'.padStart(8)} ${'PyTorch'.padStart(8)} ${'ratio'.padStart(7)}`);
console.log(row('train step (fwd+CE+bwd+AdamW)', 'train'));
console.log(row('forward', 'fwd'));
console.log(row('generate (KV cache, greedy)', 'gen'));
const cpuRow = (k: Kind) => {
  const [a, b] = [ourFigures[`cpu_${k}_tok_s`], torchFigures[`cpu_${k}_tok_s`]];
  return `${k} ${f0(a)} vs ${f0(b)} (${(a / b).toFixed(2)}x)`;
};
console.log(`tokens per CPU second (median iteration's process CPU time): ${(['train', 'fwd', 'gen'] as const).map(cpuRow).join('; ')}`);
if (json) {
  const prefixed = Object.fromEntries(Object.entries(torchFigures).map(([k, v]) => [`torch_${k}`, v]));
  console.log(JSON.stringify({ ...ourFigures, ...prefixed }));
}
