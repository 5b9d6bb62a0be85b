// Engine benchmark: train step, forward and KV-cache generation tok/s of the library GPT-2, beside PyTorch doing the same work.
import { spawnSync } from 'node:child_process';
import { createCausalLM, generate, parseModelConfig } from '../../src/models/index.js';
import { AdamW, crossEntropy, manualSeed, noGrad, ones, randint, setNumThreads, tidy } from '../../src/torch/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const threads = Number(args[args.indexOf('--threads') + 1]) || 2;
const quick = args.includes('--quick');
const steps = { train: quick ? 5 : 20, fwd: quick ? 8 : 30, gen: quick ? 1 : 5 };
const rounds = quick ? 1 : Number(args[args.indexOf('--rounds') + 1]) || 3;
const [V, T, B] = [2048, 64, 16];

setNumThreads(threads);
manualSeed(0);
const model = createCausalLM(
  parseModelConfig({ model_type: 'gpt2', n_embd: 256, n_layer: 4, n_head: 4, n_positions: T, vocab_size: V, tie_word_embeddings: false }),
);
const opt = new AdamW(model.parameters(), { lr: 3e-4 });
const ids = randint(0, V, [B, T]);
const mask = ones([B, T], { dtype: 'int64' });

/** Seconds of each of n iterations, after 2 warm-up iterations. */
function timed(fn: () => void, n: number): number[] {
  for (let i = 0; i < 2; i++) fn();
  return Array.from({ length: n }, () => {
    const t0 = performance.now();
    fn();
    return (performance.now() - t0) / 1000;
  });
}

/** Tokens/s of the fastest iteration (noise on a shared machine only adds time) and of the median one. */
function rates(tokens: number, secs: number[]): [number, number] {
  const s = [...secs].sort((a, b) => a - b);
  return [tokens / (s[0] as number), tokens / (s[Math.floor(s.length / 2)] as number)];
}

function measureOurs() {
  model.train();
  const trainS = timed(
    () =>
      tidy(() => {
        opt.zeroGrad();
        const { logits } = model.forward(ids, mask);
        crossEntropy(logits.narrow(1, 0, T - 1).reshape([-1, V]), ids.narrow(1, 1, T - 1).reshape([-1])).backward();
        opt.step();
      }),
    steps.train,
  );
  model.eval();
  const fwdS = noGrad(() => timed(() => tidy(() => void model.forward(ids, mask)), steps.fwd));
  const genS = timed(() => tidy(() => void generate(model, prompts, pmask, { maxNewTokens: 32, greedy: true, padId: 0 })), steps.gen);
  const [train, trainMedian] = rates(B * T, trainS);
  const [fwd, fwdMedian] = rates(B * T, fwdS);
  const [gen, genMedian] = rates(16 * 32, genS);
  return { train_tok_s: train, fwd_tok_s: fwd, gen_tok_s: gen, train_tok_s_median: trainMedian, fwd_tok_s_median: fwdMedian, gen_tok_s_median: genMedian };
}
type Figures = ReturnType<typeof measureOurs>;

function measureTorch(): Figures {
  const ref = spawnSync(
    '/usr/bin/python3',
    ['bench/engine/torch_ref.py', '--threads', String(threads), '--train-steps', String(steps.train), '--fwd-steps', String(steps.fwd), '--gen-reps', String(steps.gen)],
    { encoding: 'utf8' },
  );
  if (ref.status !== 0) {
    console.error(`PyTorch reference failed (needs Debian's python3-torch: apt-get install -y python3-torch):\n${ref.stderr}`);
    process.exit(1);
  }
  return JSON.parse(ref.stdout.trim().split('\n').pop() as string) as Figures;
}

// Alternate the two engines over several rounds. Every iteration is timed on its own; the headline
// figure is the fastest iteration of all rounds (as timeit advises: on a shared 2-core machine noise
// only ever adds time), the median of the rounds' median iterations is printed beside it.
const prompts = randint(0, V, [16, 16]);
const pmask = ones([16, 16], { dtype: 'int64' });
const oursRuns: Figures[] = [];
const torchRuns: Figures[] = [];
for (let r = 0; r < rounds; r++) {
  oursRuns.push(measureOurs());
  torchRuns.push(measureTorch());
}
const median = (runs: Figures[], k: keyof Figures) => {
  const xs = runs.map((f) => f[k]).sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)] as number;
};
const best = (runs: Figures[], k: keyof Figures) => Math.max(...runs.map((f) => f[k]));
const pick = (runs: Figures[]): Figures => ({
  train_tok_s: best(runs, 'train_tok_s'),
  fwd_tok_s: best(runs, 'fwd_tok_s'),
  gen_tok_s: best(runs, 'gen_tok_s'),
  train_tok_s_median: median(runs, 'train_tok_s_median'),
  fwd_tok_s_median: median(runs, 'fwd_tok_s_median'),
  gen_tok_s_median: median(runs, 'gen_tok_s_median'),
});
const ours = pick(oursRuns);
const torch = pick(torchRuns);
const f0 = (x: number) => x.toFixed(0);
const row = (label: string, k: 'train' | 'fwd' | 'gen') => {
  const [a, b] = [ours[`${k}_tok_s`], torch[`${k}_tok_s`]];
  const [am, bm] = [ours[`${k}_tok_s_median`], torch[`${k}_tok_s_median`]];
  return `${label.padEnd(30)} ${f0(a).padStart(8)} ${f0(b).padStart(8)} ${(a / b).toFixed(2).padStart(6)}x   ${f0(am).padStart(8)} ${f0(bm).padStart(8)} ${(am / bm).toFixed(2).padStart(6)}x`;
};
console.log(`GPT (vocab ${V}, ctx ${T}, d 256, 4 layers, 4 heads, batch ${B}), ${threads} threads, ${rounds} alternating rounds`);
console.log(`${'tokens/s'.padEnd(30)} ${'--- fastest iteration ---'.padStart(26)}   ${'---- median iteration ----'.padStart(26)}`);
console.log(`${''.padEnd(30)} ${'ours'.padStart(8)} ${'PyTorch'.padStart(8)} ${'ratio'.padStart(7)}   ${'ours'.padStart(8)} ${'PyTorch'.padStart(8)} ${'ratio'.padStart(7)}`);
console.log(row('train step (fwd+CE+bwd+AdamW)', 'train'));
console.log(row('forward', 'fwd'));
console.log(row('generate (KV cache, greedy)', 'gen'));
if (json) {
  const prefixed = Object.fromEntries(Object.entries(torch).map(([k, v]) => [`torch_${k}`, v]));
  console.log(JSON.stringify({ ...ours, ...prefixed }));
}
