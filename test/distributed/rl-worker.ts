// One rank (or the single process) of the RL equivalence test: a few PPO-Lagrangian steps on reference/rl_step.py's fixed rollout, printing the weights and log as one JSON line.
import { rlStep } from '../../src/algorithms/rl/step.js';
import { Rng } from '../../src/world/rng.js';
import { golden, setup, type Aggregation, type MethodName } from '../helpers/rl-step-setup.js';

const [name = 'ppo_lag', aggregation = 'token', steps = '3'] = process.argv.slice(2);
const { ctx, rollout, models } = setup(name as MethodName, aggregation as Aggregation);
// PTX examples of different lengths, so that ranks' shares of a mini-batch's PTX tokens differ
ctx.ptx.push({ promptIds: golden.ptx.promptIds, responseIds: golden.ptx.responseIds.slice(0, 1) }, { promptIds: golden.ptx.promptIds.slice(0, 2), responseIds: golden.ptx.responseIds });
const records = [];
for (let step = 1; step <= Number(steps); step++) records.push(rlStep(ctx, rollout, step, new Rng(step)).record);
const weights = (m: { namedParameters(): Map<string, { toNumbers(): number[] }> }) => Object.fromEntries([...m.namedParameters()].map(([k, p]) => [k, p.toNumbers()]));
const critics = Object.fromEntries(Object.entries(models.critics).map(([s, c]) => [s, weights(c)]));
process.stdout.write(JSON.stringify({ rank: ctx.job.rank, worldSize: ctx.job.worldSize, records, actor: weights(models.actor), critics }) + '\n');
