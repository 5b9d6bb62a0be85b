// One process of bench/ddp's PPO-Lagrangian work: steps of bench/rl-step's default-size step, data-parallel as trainRl runs them; rank 0 prints the times as JSON.
import { readFileSync } from 'node:fs';
import { gatherRollout, sampleRollout } from '../../src/algorithms/rl/rollout.js';
import { rlStep } from '../../src/algorithms/rl/step.js';
import { manualSeed, tidy } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';
import { setupRlStep, stopSchedule } from '../rl-step/setup.js';
import type { RlStepWork } from '../rl-step/work.js';

const steps = Number(process.argv[2] ?? 3);
const work = JSON.parse(readFileSync(process.argv[3] as string, 'utf8')) as RlStepWork;
const { ctx, config, tokens } = setupRlStep(work, false);
const { job } = ctx;
job.broadcast([ctx.models.actor, ...ctx.critics.map(([, c]) => c)].flatMap((m) => m.parameters()));
const rows = work.prompts.map((_, i) => i);
const ms: number[] = [];
for (let step = 0; step <= steps; step++) {
  const t0 = performance.now();
  tidy(() => {
    // as trainRl: each rank samples its share of the rows from its own stream, every rank gets them all; rlStep shares out scoring and updates
    const share = job.shareOrStandIn(rows);
    manualSeed(1000 * step + job.rank);
    const processLogits = work.stops ? stopSchedule(share.items.map((i) => work.stops?.[i] as number), work.eosId, work.model.vocab_size) : undefined;
    const sampled = sampleRollout(ctx.models.actor, share.items.map((i) => work.prompts[i] as number[]), config, tokens, processLogits);
    rlStep(ctx, gatherRollout(job, sampled, tokens.padId, share.standIn), step + 1, new Rng(step));
  });
  if (step > 0) ms.push(performance.now() - t0); // step 0 warms up
}
if (job.isMain) process.stdout.write(JSON.stringify({ engine: 'safealign', worldSize: job.worldSize, ms }) + '\n');
