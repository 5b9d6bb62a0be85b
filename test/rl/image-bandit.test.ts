// PPO-Lagrangian on image + text prompts through the real RL loop: a one-token constrained bandit whose context is the image.
//
// One neutral question ("answer"), two images. Responses are one token; the named actions score as in the text bandit
// (test/rl/constrained-bandit.test.ts) except that the image decides whether complying is harmful:
//   danger image: comply R 2, C +2   help R 1, C -1   refuse R 0, C -2
//   safe image:   comply R 2, C -1   help R 1, C -1   refuse R 0, C -2
// every other token R -1, C 0. Actor, reference and critics are tiny LLaVA models (CLIP-style tower + projector + GPT-2);
// reward and cost are exact tables that read the image from the tower states the loop hands them (a LLaVA score model's
// endScores). Under E[C] <= d = -1 over both images, PPO-Lagrangian must stop complying on the danger image and keep
// complying on the safe one: each image's response distribution is checked against the closed-form optimum
// π_λ ∝ π_ref·exp((R − λC)/((1+λ)β)) with one λ* for both images (test/rl/constrained-bandit.test.ts derives the form).
// The image path's errors this catches (scripts/sign-flips.py): a batch's rows selected with their images reversed, every
// row shown the first image, the shared tower states of the wrong image.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { encodePrompt } from '../../src/algorithms/common/batching.js';
import { imageTokensOf } from '../../src/algorithms/common/model-input.js';
import type { ImageTokens } from '../../src/models/prompt.js';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { criticStreams, type StreamName } from '../../src/algorithms/rl/method.js';
import { trainRl, type GoldJudge, type RlLogRecord, type RlPrompt } from '../../src/algorithms/rl/train.js';
import { formatPrompt, lastTokenIndex, LlavaModel, LlavaScoreModel, parseLlavaConfig, trainWordLevel, VisionTower, type LlavaConfig, type Tokenizer } from '../../src/models/index.js';
import { DEFAULT_LAGRANGE } from '../../src/rl/index.js';
import { AdamW, keep, manualSeed, noGrad, randn, setNumThreads, stack, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { paramHash } from '../algorithms/rl-tiny.js';
import { dualOptimum, expectation, lagrangianPolicy, tailMean, totalVariation } from '../helpers/bandit.js';
import { DEFAULT_SPECIAL_TOKENS } from '../../src/models/tokenizer-train.js';

const QUESTION = 'answer';
const ACTIONS = { comply: { reward: 2, cost: [2, -1] }, help: { reward: 1, cost: [-1, -1] }, refuse: { reward: 0, cost: [-2, -2] } } as const;
const OTHERS = { reward: -1, cost: 0 };
/** KL coefficient β, cost threshold d: at the optimum the danger image complies ≈ 10% of the time, the safe one ≈ 88%. */
const BETA = 0.3;
const D = -1;
const STEPS = 120;
/**
 * Total variation between each image's trained response distribution and the closed-form optimum. Measured on seeds 0-5
 * (120 steps of 32 rows): TV ≤ 0.085, comply 0.03-0.13 (danger) and 0.83-0.91 (safe) vs the optimum's 0.10 / 0.89,
 * E[C] −0.93 to −1.05 (d = −1).
 */
const TV_TOL = 0.12;

function tokenizerWithImage(): Tokenizer {
  const special = { ...DEFAULT_SPECIAL_TOKENS, extra: [...DEFAULT_SPECIAL_TOKENS.extra, '<image>'] };
  const base = trainWordLevel([], { vocabSize: 16, special });
  return trainWordLevel([formatPrompt(base, { prompt: QUESTION }), ...Object.keys(ACTIONS)], { vocabSize: 64, special });
}

function llavaConfig(tokenizer: Tokenizer): LlavaConfig {
  return parseLlavaConfig({
    model_type: 'llava',
    image_token_index: tokenizer.tokenToId('<image>'),
    projector_hidden_act: 'gelu',
    vision_feature_layer: -1,
    vision_feature_select_strategy: 'default',
    vision_config: { model_type: 'clip_vision_model', hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_channels: 3, image_size: 8, patch_size: 4, hidden_act: 'quick_gelu' },
    text_config: { model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, n_positions: 32, vocab_size: tokenizer.vocabSize, tie_word_embeddings: true, eos_token_id: tokenizer.eosId ?? null },
  });
}

/**
 * An exact reward or cost table that reads the image: a LLaVA score model (its tower a copy of `from`'s) whose end score is
 * table[image][last token], the image told apart by the tower states the loop passes for each row (danger: equal to the
 * states of the danger image).
 */
class ImageTableScorer extends LlavaScoreModel {
  private readonly dangerStates: Tensor;
  private readonly tables: Tensor;
  constructor(from: LlavaModel, danger: Tensor, tables: readonly (readonly number[])[]) {
    super(from.config, 'reward');
    this.visionTower.loadStateDict(from.visionTower.stateDict());
    this.dangerStates = noGrad(() => this.towerStates(danger.unsqueeze(0)));
    this.tables = tensor(tables.map((t) => [...t]));
  }

  override endScoresFromStates(inputIds: Tensor, attentionMask: Tensor, states: Tensor | null): Tensor {
    if (!states) throw new Error('the image table scorer was given no image');
    const last = inputIds.gather(1, lastTokenIndex(attentionMask).unsqueeze(1)).squeeze(1);
    // states (B, P, Dv): one image per row, in row order
    const isSafe = states.sub(this.dangerStates).abs().flatten(1).max(1).gt(1e-5).long();
    const V = this.tables.shape[1] as number;
    return this.tables.flatten().indexSelect(0, isSafe.mul(V).add(last));
  }
}

interface Task {
  rewardModel: ImageTableScorer;
  costModel: ImageTableScorer;
  tokenizer: Tokenizer;
  config: LlavaConfig;
  reference: LlavaModel;
  images: { danger: Tensor; safe: Tensor };
  ids: Record<keyof typeof ACTIONS, number>;
  reward: number[][];
  cost: number[][];
}

function buildTask(): Task {
  setNumThreads(1);
  const tokenizer = tokenizerWithImage();
  const config = llavaConfig(tokenizer);
  manualSeed(7);
  const reference = new LlavaModel(config);
  const images = { danger: keep(randn([3, 8, 8])), safe: keep(randn([3, 8, 8])) };
  const ids = Object.fromEntries(Object.keys(ACTIONS).map((w) => [w, tokenizer.tokenToId(w) as number])) as Task['ids'];
  fitReference(reference, tokenizer, [
    { image: images.danger, target: { [ids.comply]: 1, [ids.help]: 2, [ids.refuse]: 3 } },
    { image: images.safe, target: { [ids.comply]: 2, [ids.help]: 2, [ids.refuse]: 1 } },
  ]);
  const V = tokenizer.vocabSize;
  const table = (f: (a: (typeof ACTIONS)[keyof typeof ACTIONS], image: number) => number, other: number) =>
    [0, 1].map((image) => Array.from({ length: V }, (_, id) => {
      const name = (Object.keys(ids) as (keyof typeof ACTIONS)[]).find((w) => ids[w] === id);
      return name ? f(ACTIONS[name], image) : other;
    }));
  const reward = table((a) => a.reward, OTHERS.reward);
  const cost = table((a, i) => a.cost[i] as number, OTHERS.cost);
  const scorer = (t: number[][]) => new ImageTableScorer(reference, images.danger, t);
  return { tokenizer, config, reference, images, ids, reward, cost, rewardModel: scorer(reward), costModel: scorer(cost) };
}

/** The image prompt's ids as the RL loop encodes them (the placeholder expanded to the model's image tokens). */
function imagePromptIds(tokenizer: Tokenizer, model: LlavaModel, image: Tensor): number[] {
  return encodePrompt(tokenizer, { prompt: QUESTION, pixels: image }, { image: imageTokensOf(model, tokenizer) as ImageTokens });
}

/**
 * A few Adam steps (tower frozen) so that after each image's prompt the reference's response distribution leans towards
 * that image's weights (other tokens 0.3): π_ref then depends on the image, as an SFT model's would.
 */
function fitReference(model: LlavaModel, tokenizer: Tokenizer, targets: readonly { image: Tensor; target: Record<number, number> }[]): void {
  model.freezeVisionTower().train();
  const ids = imagePromptIds(tokenizer, model, (targets[0] as { image: Tensor }).image);
  const V = tokenizer.vocabSize;
  const qs = targets.map(({ target }) => {
    const w = Array.from({ length: V }, (_, id) => target[id] ?? 0.3);
    const z = w.reduce((a, b) => a + b, 0);
    return keep(tensor(w.map((x) => x / z)));
  });
  const pixels = keep(stack(targets.map((t) => t.image), 0));
  const batch = { ids: keep(tensor(targets.map(() => ids), { dtype: 'int64' })), mask: keep(tensor(targets.map(() => ids.map(() => 1)), { dtype: 'int64' })) };
  const opt = new AdamW(model.trainableParameters(), { lr: 1e-2, weightDecay: 0 });
  for (let i = 0; i < 150; i++) {
    tidy(() => {
      opt.zeroGrad();
      const logp = model.forward(batch.ids, batch.mask, pixels).logits.select(1, ids.length - 1).logSoftmax(1);
      qs.map((q, b) => logp.select(0, b).mul(q).sum().neg()).reduce((a, b) => a.add(b)).backward();
      opt.step();
    });
  }
  model.eval();
}

function copyOf(m: LlavaModel): LlavaModel {
  const c = new LlavaModel(m.config);
  c.loadStateDict(m.stateDict());
  return c;
}

/** The exact distribution of the one response token after the image prompt, (V,). */
function responseDistribution(model: LlavaModel, task: Task, image: Tensor): number[] {
  model.eval();
  return noGrad(() =>
    tidy(() => {
      const ids = imagePromptIds(task.tokenizer, model, image);
      const { logits } = model.forward(tensor([ids], { dtype: 'int64' }), tensor([ids.map(() => 1)], { dtype: 'int64' }), image.unsqueeze(0));
      return logits.select(1, ids.length - 1).softmax(1).squeeze(0).toNumbers();
    }),
  );
}

/** A judge whose "helpfulness" is the exact mean table cost of the rows given each row's own prompt (risky = the danger image). */
const tableCostJudge: GoldJudge = (items) => ({
  harmfulRate: 0,
  helpfulness: items.reduce((sum, x) => sum + (ACTIONS[x.response.trim() as keyof typeof ACTIONS]?.cost[x.risky ? 0 : 1] ?? OTHERS.cost), 0) / items.length,
});

function run(task: Task, rl: Record<string, unknown>, seed = 0, judge?: GoldJudge): { actor: LlavaModel; log: RlLogRecord[] } {
  const method = ppoLagMethod({ klCoef: BETA, scoreClip: 50, lagrange: { ...DEFAULT_LAGRANGE, threshold: D, lr: 0.1, window: 128 } });
  manualSeed(seed + 1000);
  const actor = copyOf(task.reference);
  const critics: Partial<Record<StreamName, LlavaScoreModel>> = {};
  for (const s of criticStreams(method)) critics[s] = LlavaScoreModel.fromLlava(task.reference, 'critic');
  const prompts: RlPrompt[] = [
    { prompt: QUESTION, risky: true, image: task.images.danger, source: 'danger' },
    { prompt: QUESTION, risky: false, image: task.images.safe, source: 'safe' },
  ];
  const outDir = mkdtempSync(join(tmpdir(), 'image-bandit-'));
  try {
    const out = trainRl({
      method,
      models: {
        actor,
        reference: task.reference,
        rewardModel: task.rewardModel,
        costModel: task.costModel,
        critics,
      },
      tokenizer: task.tokenizer,
      prompts,
      config: RlConfigSchema.parse({ maxNewTokens: 1, checkpointEvery: 1_000_000, diversitySample: 0, embeddingDiversityEvery: 0, miniBatchSize: 32, promptsPerStep: 32, ppoEpochs: 1, actorOptim: { lr: 1e-2 }, criticOptim: { lr: 1e-2 }, seed, ...rl }),
      outDir,
      ...(judge ? { judge } : {}),
    });
    return { actor, log: out.log };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const task = {} as { t: Task };
beforeAll(() => {
  task.t = buildTask();
});

describe('PPO-Lagrangian on image prompts (the image decides the cost)', () => {
  const trained = {} as { actor: LlavaModel; log: RlLogRecord[] };
  beforeAll(() => Object.assign(trained, run(task.t, { steps: STEPS })));

  it('moves each image\'s answer to the Lagrangian optimum: complying dropped on the danger image, kept on the safe one, E[C] = d', () => {
    const { ids, images, reward, cost } = task.t;
    const ref = [responseDistribution(task.t.reference, task.t, images.danger), responseDistribution(task.t.reference, task.t, images.safe)] as const;
    const pi = [responseDistribution(trained.actor, task.t, images.danger), responseDistribution(trained.actor, task.t, images.safe)] as const;
    // the optimum: per image π_λ ∝ π_ref·exp((R − λC)/((1+λ)β)), one λ for both (the prompts are drawn evenly) with E[C] = d
    const lagrangian = (lambda: number) => [0, 1].flatMap((i) => lagrangianPolicy(ref[i] as number[], reward[i] as number[], cost[i] as number[], BETA, lambda).map((p) => p / 2));
    const joint = (xs: readonly (readonly number[])[]) => xs.flatMap((x) => [...x]);
    const lambda = dualOptimum(joint(ref).map((p) => p / 2), joint(reward), joint(cost), BETA, D, lagrangian);
    const optimum = [0, 1].map((i) => lagrangianPolicy(ref[i] as number[], reward[i] as number[], cost[i] as number[], BETA, lambda));
    const comply = (d: readonly number[]) => d[ids.comply] as number;
    const detail = `comply (danger/safe): ref ${comply(ref[0]).toFixed(3)}/${comply(ref[1]).toFixed(3)}, trained ${comply(pi[0]).toFixed(3)}/${comply(pi[1]).toFixed(3)}, optimum ${comply(optimum[0] as number[]).toFixed(3)}/${comply(optimum[1] as number[]).toFixed(3)} (λ* ${lambda.toFixed(3)}, last λ ${trained.log.at(-1)?.lambda?.toFixed(3)})`;
    // the image, not the text, decides: complying is the safe image's answer and rare on the danger image
    expect(comply(pi[1]), detail).toBeGreaterThan(0.6);
    expect(comply(pi[0]), detail).toBeLessThan(0.25);
    for (const i of [0, 1]) expect(totalVariation(pi[i] as number[], optimum[i] as number[]), `${detail}, image ${i}`).toBeLessThan(TV_TOL);
    // the constraint holds over both images, up to λ's oscillation
    expect(expectation(joint(pi).map((p) => p / 2), joint(cost)), detail).toBeLessThan(D + 0.2);
    // λ ends near λ*
    expect(tailMean(trained.log, 'lambda') / lambda, detail).toBeGreaterThan(0.6);
    expect(tailMean(trained.log, 'lambda') / lambda, detail).toBeLessThan(1.6);
  });
});

describe('the vision tower in the RL loop', () => {
  it('is frozen by default: its weights are unchanged and it has no gradient, while the projector and language model learn', () => {
    const { actor } = run(task.t, { steps: 3, promptsPerStep: 8, miniBatchSize: 8 });
    expect(paramHash(actor.visionTower)).toBe(paramHash(task.t.reference.visionTower));
    expect(actor.visionTower.parameters().every((p) => !p.requiresGrad && p.grad === null)).toBe(true);
    expect(paramHash(actor.projector)).not.toBe(paramHash(task.t.reference.projector));
    expect(paramHash(actor.languageModel)).not.toBe(paramHash(task.t.reference.languageModel));
  });

  it("scores every row on its own prompt's image: the cost model's mean equals the table's on each row's prompt, step by step", () => {
    const { log } = run(task.t, { steps: 4, promptsPerStep: 16, miniBatchSize: 8 }, 3, tableCostJudge);
    for (const r of log) expect(r.cost, `step ${r.step}`).toBeCloseTo(r.goldHelpfulness as number, 6);
  });

  it('learns when rl.freezeVisionTower is false', () => {
    const { actor } = run(task.t, { steps: 3, promptsPerStep: 8, miniBatchSize: 8, freezeVisionTower: false });
    expect(paramHash(actor.visionTower)).not.toBe(paramHash(task.t.reference.visionTower));
  });

  it('runs once per rollout when frozen: one tower pass serves generation, reference, reward, cost, critics and the updates', () => {
    const spy = vi.spyOn(VisionTower.prototype, 'hiddenState');
    try {
      run(task.t, { steps: 2, promptsPerStep: 8, miniBatchSize: 4, ppoEpochs: 2 });
      // actor, reference, the two scorers and both critics have bit-equal frozen towers: one pass per step
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });
});
