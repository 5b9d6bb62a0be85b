// One rank (or the single process) of the RL equivalence test: a few PPO-Lagrangian steps on reference/rl_step.py's fixed rollout, printing the weights and log as one JSON line.
import { gatherRollout } from '../../src/algorithms/rl/rollout.js';
import { rlStep } from '../../src/algorithms/rl/step.js';
import { dataParallel } from '../../src/distributed/index.js';
import { tensor } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';
import { golden, setup, type Aggregation, type MethodName } from '../helpers/rl-step-setup.js';
import { encodePrompt } from '../../src/algorithms/common/batching.js';
import { imageTokensOf } from '../../src/algorithms/common/model-input.js';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { createRlContext } from '../../src/algorithms/rl/context.js';
import { RowImages } from '../../src/algorithms/rl/images.js';
import type { RlLogRecord } from '../../src/algorithms/rl/step-log.js';
import { fixedRollout } from '../../src/algorithms/rl/rollout.js';
import { formatPrompt, LlavaModel, LlavaScoreModel, parseLlavaConfig, trainWordLevel } from '../../src/models/index.js';
import type { ImageTokens } from '../../src/models/prompt.js';
import { DEFAULT_SPECIAL_TOKENS } from '../../src/models/tokenizer-train.js';
import { DEFAULT_LAGRANGE } from '../../src/rl/index.js';
import { manualSeed, randn } from '../../src/torch/index.js';

/** Tiny LLaVA actor, reference, reward, cost and critics (seeded), and a fixed rollout of 4 image prompts (2 images) with responses of 1-3 tokens. */
function imageSetup() {
  const special = { ...DEFAULT_SPECIAL_TOKENS, extra: [...DEFAULT_SPECIAL_TOKENS.extra, '<image>'] };
  const tokenizer = trainWordLevel([formatPrompt(trainWordLevel([], { vocabSize: 16, special }), { prompt: 'answer this' }), 'yes no maybe'], { vocabSize: 48, special });
  const config = parseLlavaConfig({
    model_type: 'llava',
    image_token_index: tokenizer.tokenToId('<image>'),
    vision_feature_layer: -1,
    vision_config: { model_type: 'clip_vision_model', hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, image_size: 8, patch_size: 4 },
    text_config: { model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, n_positions: 48, vocab_size: tokenizer.vocabSize, tie_word_embeddings: true },
  });
  manualSeed(1);
  const actor = new LlavaModel(config);
  const reference = new LlavaModel(config);
  reference.loadStateDict(actor.stateDict());
  manualSeed(2);
  const rewardModel = LlavaScoreModel.fromLlava(actor, 'reward');
  manualSeed(3);
  const costModel = LlavaScoreModel.fromLlava(actor, 'cost');
  const critics = { reward: LlavaScoreModel.fromScoreModel(rewardModel, 'critic'), cost: LlavaScoreModel.fromScoreModel(costModel, 'critic') };
  const models = { actor, reference, rewardModel, costModel, critics };
  const method = ppoLagMethod({ klCoef: 0.05, scoreClip: 50, lagrange: { ...DEFAULT_LAGRANGE, threshold: 0, lr: 0.5 } });
  const ctx = createRlContext(method, models, RlConfigSchema.parse({ miniBatchSize: 2, ppoEpochs: 2, actorOptim: { lr: 1e-2 }, criticOptim: { lr: 1e-2 } }), [], tokenizer.padId ?? 0);
  manualSeed(4);
  const pixels = randn([2, 3, 8, 8]);
  const prompt = encodePrompt(tokenizer, { prompt: 'answer this', pixels }, { image: imageTokensOf(actor, tokenizer) as ImageTokens });
  const words = [['yes'], ['no', 'maybe'], ['maybe', 'yes', 'no'], ['no']].map((ws) => ws.map((w) => tokenizer.tokenToId(w) as number));
  const T = 3;
  const pad = tokenizer.padId ?? 0;
  const seq = words.map((r) => [...prompt, ...r, ...Array<number>(T - r.length).fill(pad)]);
  const attn = words.map((r) => [...prompt.map(() => 1), ...r.map(() => 1), ...Array<number>(T - r.length).fill(0)]);
  const mask = words.map((r) => [...r.map(() => 1), ...Array<number>(T - r.length).fill(0)]);
  const images = RowImages.create(pixels, [0, 1, 1, 0], ctx.towers);
  const rollout = fixedRollout(actor, tensor(seq, { dtype: 'int64' }), tensor(attn, { dtype: 'int64' }), tensor(mask), prompt.length, images);
  return { ctx, rollout, models };
}

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
if (name === 'images') {
  // PPO-Lagrangian on a fixed rollout of image + text prompts (tiny LLaVA models): 4 rows, 2 images, responses of 1-3 tokens
  const { ctx, rollout, models } = imageSetup();
  const records: RlLogRecord[] = [];
  for (let step = 1; step <= Number(steps); step++) records.push(rlStep(ctx, rollout, step, new Rng(step)).record);
  const weights = (m: { namedParameters(): Map<string, { toNumbers(): number[] }> }) => Object.fromEntries([...m.namedParameters()].map(([k, p]) => [k, p.toNumbers()]));
  const critics = Object.fromEntries(Object.entries(models.critics).map(([s, c]) => [s, weights(c as LlavaScoreModel)]));
  // exit once the (large) line is flushed to the pipe
  await new Promise((done) => process.stdout.write(JSON.stringify({ rank: ctx.job.rank, worldSize: ctx.job.worldSize, records, actor: weights(models.actor), critics }) + '\n', done));
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
