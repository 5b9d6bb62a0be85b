// One process of bench/ddp: train steps of the DESIGN.md §1 GPT through startTraining (the trainers' data-parallel step), timed; rank 0 prints the times as JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTraining } from '../../src/algorithms/common/training-run.js';
import { OptimSchema } from '../../src/algorithms/common/optim-config.js';
import { silentProgress } from '../../src/core/progress.js';
import { createCausalLM, parseModelConfig } from '../../src/models/index.js';
import { crossEntropy, manualSeed, randint, ones, tensor } from '../../src/torch/index.js';

const steps = Number(process.argv[2] ?? 10);
const [V, T, B] = [2048, 64, 16];
manualSeed(0);
const model = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 256, n_layer: 4, n_head: 4, n_positions: T, vocab_size: V, tie_word_embeddings: false }));
const ids = randint(0, V, [B, T]).toArray() as number[][];
const outDir = mkdtempSync(join(tmpdir(), 'bench-ddp-'));
const run = startTraining({ label: 'bench', model, optim: OptimSchema.parse({ lr: 3e-4, schedule: 'constant', warmupRatio: 0 }), totalSteps: steps + 1, seed: 0, outDir, checkpointEvery: 1e9, progress: silentProgress });
const batch = Array.from({ length: B }, (_, i) => i);
const ms: number[] = [];
for (let step = 0; step <= steps; step++) {
  const t0 = performance.now();
  run.optimize(step, batch, (share) => {
    const x = tensor(share.map((i) => ids[i] as number[]), { dtype: 'int64' });
    const { logits } = model.forward(x, ones([share.length, T], { dtype: 'int64' }));
    const loss = crossEntropy(logits.narrow(1, 0, T - 1).reshape([-1, V]), x.narrow(1, 1, T - 1).reshape([-1]));
    return { loss, metrics: {}, weight: share.length * (T - 1) };
  });
  if (step > 0) ms.push(performance.now() - t0); // step 0 warms up
}
rmSync(outDir, { recursive: true, force: true });
if (run.job.isMain) process.stdout.write(JSON.stringify({ engine: 'safealign', worldSize: run.job.worldSize, ms }) + '\n');
