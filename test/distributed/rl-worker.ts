// One rank (or the single process) of the RL equivalence test: a few PPO-Lagrangian steps on reference/rl_step.py's fixed rollout, printing the weights and log as one JSON line.
import { gatherRollout } from '../../src/algorithms/rl/rollout.js';
import { rlStep } from '../../src/algorithms/rl/step.js';
import { dataParallel } from '../../src/distributed/index.js';
import { tensor } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';
import { golden, setup, type Aggregation, type MethodName } from '../helpers/rl-step-setup.js';

const [name = 'ppo_lag', aggregation = 'token', steps = '3'] = process.argv.slice(2);
if (name === 'gather') {
  // rank 0 sampled 2 rows (prompts of 2 columns, responses of 3), rank 1 one row (3 and 1); pad id 9
  const job = dataParallel();
  const share =
    job.rank === 0
      ? { sequences: tensor([[1, 2, 3, 4, 9], [9, 5, 6, 9, 9]], { dtype: 'int64' }), attentionMask: tensor([[1, 1, 1, 1, 0], [0, 1, 1, 0, 0]], { dtype: 'int64' }), mask: tensor([[1, 1, 0], [1, 0, 0]]), oldLogProbs: tensor([[-1, -2, 0], [-3, 0, 0]]), promptLength: 2 }
      : { sequences: tensor([[7, 8, 9, 4]], { dtype: 'int64' }), attentionMask: tensor([[1, 1, 1, 1]], { dtype: 'int64' }), mask: tensor([[1]]), oldLogProbs: tensor([[-4]]), promptLength: 3 };
  const r = gatherRollout(job, share, 9, false);
  process.stdout.write(JSON.stringify({ rank: job.rank, worldSize: job.worldSize, sequences: r.sequences.toArray(), attentionMask: r.attentionMask.toArray(), mask: r.mask.toArray(), oldLogProbs: r.oldLogProbs.toArray(), promptLength: r.promptLength }) + '\n');
  process.exit(0);
}
const { ctx, rollout, models } = setup(name as MethodName, aggregation as Aggregation);
// PTX examples of different lengths, so that ranks' shares of a mini-batch's PTX tokens differ
ctx.ptx.push({ promptIds: golden.ptx.promptIds, responseIds: golden.ptx.responseIds.slice(0, 1) }, { promptIds: golden.ptx.promptIds.slice(0, 2), responseIds: golden.ptx.responseIds });
const records = [];
for (let step = 1; step <= Number(steps); step++) records.push(rlStep(ctx, rollout, step, new Rng(step)).record);
const weights = (m: { namedParameters(): Map<string, { toNumbers(): number[] }> }) => Object.fromEntries([...m.namedParameters()].map(([k, p]) => [k, p.toNumbers()]));
const critics = Object.fromEntries(Object.entries(models.critics).map(([s, c]) => [s, weights(c)]));
process.stdout.write(JSON.stringify({ rank: ctx.job.rank, worldSize: ctx.job.worldSize, records, actor: weights(models.actor), critics }) + '\n');
