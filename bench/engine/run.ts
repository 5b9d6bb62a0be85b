// Engine benchmark: train step, forward and KV-cache generation tok/s of the library GPT-2, beside PyTorch doing the same work.
import { spawnSync } from 'node:child_process';
import { createCausalLM, generate, parseModelConfig } from '../../src/models/index.js';
import { AdamW, crossEntropy, manualSeed, noGrad, ones, randint, setNumThreads, tidy } from '../../src/torch/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const threads = Number(args[args.indexOf('--threads') + 1]) || 2;
const quick = args.includes('--quick');
const steps = { train: quick ? 5 : 20, fwd: quick ? 8 : 30, gen: quick ? 1 : 3 };
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

function timed(fn: () => void, n: number): number {
  for (let i = 0; i < 2; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - t0) / 1000;
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
  return { train_tok_s: (B * T * steps.train) / trainS, fwd_tok_s: (B * T * steps.fwd) / fwdS, gen_tok_s: (16 * 32 * steps.gen) / genS };
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

// Alternate the two engines over several rounds and keep each figure's median: on a small
// machine the clock and cache state drift between runs, and one pass is noisy.
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
const pick = (runs: Figures[]): Figures => ({ train_tok_s: median(runs, 'train_tok_s'), fwd_tok_s: median(runs, 'fwd_tok_s'), gen_tok_s: median(runs, 'gen_tok_s') });
const ours = pick(oursRuns);
const torch = pick(torchRuns);
const row = (label: string, a: number, b: number) => `${label.padEnd(28)} ${a.toFixed(0).padStart(8)} ${b.toFixed(0).padStart(10)} ${(a / b).toFixed(2).padStart(8)}x`;
console.log(`GPT (vocab ${V}, ctx ${T}, d 256, 4 layers, 4 heads, batch ${B}), ${threads} threads, median of ${rounds} alternating rounds`);
console.log(`${'tokens/s'.padEnd(28)} ${'safealign'.padStart(8)} ${'PyTorch'.padStart(10)} ${'ratio'.padStart(9)}`);
console.log(row('train step (fwd+CE+bwd+AdamW)', ours.train_tok_s, torch.train_tok_s));
console.log(row('forward', ours.fwd_tok_s, torch.fwd_tok_s));
console.log(row('generate (KV cache, greedy)', ours.gen_tok_s, torch.gen_tok_s));
if (json) {
  console.log(
    JSON.stringify({
      ...ours,
      torch_train_tok_s: torch.train_tok_s,
      torch_fwd_tok_s: torch.fwd_tok_s,
      torch_gen_tok_s: torch.gen_tok_s,
    }),
  );
}
