// Test helper: a one-token constrained bandit run through the real RL loop, with its exact KL-regularised optima.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePrompt } from '../../src/algorithms/common/batching.js';
import type { z } from 'zod';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { criticStreams, type RlMethod, type StreamName } from '../../src/algorithms/rl/method.js';
import { trainRl, type RlLogRecord, type RlPrompt, type SequenceScorer } from '../../src/algorithms/rl/train.js';
import { createCausalLM, lastTokenIndex, parseModelConfig, ScoreModel, trainWordLevel, type CausalLM, type Tokenizer } from '../../src/models/index.js';
import { DEFAULT_LAGRANGE } from '../../src/rl/index.js';
import { AdamW, manualSeed, noGrad, setNumThreads, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { beforeAll } from 'vitest';

/** The one prompt of the task; every response is a single token (an "action"). */
export const BANDIT_PROMPT = 'answer';

/**
 * An exact score table over the vocabulary: the score of a sequence is table[last real token].
 * table: (V,). Implements what `trainRl` needs of a reward or cost model.
 */
export class TableScorer implements SequenceScorer {
  private readonly values: Tensor;

  constructor(readonly table: readonly number[]) {
    this.values = tensor([...table]);
  }

  /** inputIds, attentionMask: (B, L) -> endScores (B,) = table[inputIds[b, last real position]]. */
  forward(inputIds: Tensor, attentionMask: Tensor): { endScores: Tensor } {
    const last = inputIds.gather(1, lastTokenIndex(attentionMask).unsqueeze(1)).squeeze(1);
    return { endScores: this.values.indexSelect(0, last) };
  }

  eval(): this {
    return this;
  }
}

/** Exact distribution of the single response token: softmax of the logits after the prompt, (V,) as numbers. */
export function responseDistribution(model: CausalLM, tokenizer: Tokenizer, prompt = BANDIT_PROMPT): number[] {
  model.eval();
  return noGrad(() =>
    tidy(() => {
      const ids = encodePrompt(tokenizer, { prompt });
      const { logits } = model.forward(tensor([ids], { dtype: 'int64' }), tensor([ids.map(() => 1)], { dtype: 'int64' }));
      return logits.select(1, ids.length - 1).softmax(1).squeeze(0).toNumbers();
    }),
  );
}

/** π(a) ∝ π_ref(a)·exp(score(a)/temperature), computed in log space. */
export function tilt(piRef: readonly number[], score: readonly number[], temperature: number): number[] {
  const logits = piRef.map((p, a) => Math.log(p) + (score[a] as number) / temperature);
  const max = Math.max(...logits);
  const w = logits.map((l) => Math.exp(l - max));
  const z = w.reduce((s, x) => s + x, 0);
  return w.map((x) => x / z);
}

export function expectation(pi: readonly number[], f: readonly number[]): number {
  return pi.reduce((s, p, a) => s + p * (f[a] as number), 0);
}

export function totalVariation(p: readonly number[], q: readonly number[]): number {
  return 0.5 * p.reduce((s, x, a) => s + Math.abs(x - (q[a] as number)), 0);
}

export function argmax(xs: readonly number[]): number {
  return xs.reduce((best, x, i) => (x > (xs[best] as number) ? i : best), 0);
}

/** The PPO-Lagrangian fixed point for a given λ: π_λ ∝ π_ref·exp((R - λC)/((1+λ)β)). */
export function lagrangianPolicy(piRef: readonly number[], reward: readonly number[], cost: readonly number[], beta: number, lambda: number): number[] {
  return tilt(
    piRef,
    reward.map((r, a) => r - lambda * (cost[a] as number)),
    (1 + lambda) * beta,
  );
}

/**
 * Fixed point of GRPO's expected update with the group mean as baseline, no std scaling (scaleRewards 'none')
 * and β·k3 in the loss, on one-token responses. With c = 1 - 1/G (the sample's own share of the group mean),
 * E[A·∇log π] = c·π⊙(S - S̄) and E[∇ β·k3] = β·(π - π_ref) (k3's on-policy gradient is that of KL(π_ref‖π)),
 * so the update vanishes where π(a) = β·π_ref(a) / (β - c·(S(a) - m)) with m = E_π[S]; m is the root of
 * Σ_a π(a) = 1 on m > max S - β/c, found by bisection (the sum decreases in m there).
 */
export function grpoFixedPoint(piRef: readonly number[], score: readonly number[], beta: number, groupSize: number): number[] {
  const c = 1 - 1 / groupSize;
  const pi = (m: number) => piRef.map((p, a) => (beta * p) / (beta - c * ((score[a] as number) - m)));
  let lo = Math.max(...score) - beta / c + 1e-12;
  let hi = Math.max(...score) + 1e6;
  for (let i = 0; i < 300; i++) {
    const mid = (lo + hi) / 2;
    if (pi(mid).reduce((s, x) => s + x, 0) > 1) lo = mid;
    else hi = mid;
  }
  return pi((lo + hi) / 2);
}

/** Safe GRPO's fixed point for a given λ (scaleRewards 'none'): GRPO's on the score (R - λC)/(1 + λ). */
export function safeGrpoPolicy(piRef: readonly number[], reward: readonly number[], cost: readonly number[], beta: number, lambda: number, groupSize: number): number[] {
  return grpoFixedPoint(
    piRef,
    reward.map((r, a) => (r - lambda * (cost[a] as number)) / (1 + lambda)),
    beta,
    groupSize,
  );
}

/**
 * λ* with E_{π_λ*}[C] = d, by bisection on log λ in [1e-6, 1e6], π_λ given by `policy` (default PPO-Lagrangian's).
 * E_{π_λ}[C] must decrease in λ over that range (checked on a grid) and cross d inside it; otherwise this throws.
 */
export function dualOptimum(
  piRef: readonly number[],
  reward: readonly number[],
  cost: readonly number[],
  beta: number,
  d: number,
  policy: (lambda: number) => number[] = (lambda) => lagrangianPolicy(piRef, reward, cost, beta, lambda),
): number {
  const g = (logLambda: number) => expectation(policy(Math.exp(logLambda)), cost) - d;
  let lo = Math.log(1e-6);
  let hi = Math.log(1e6);
  let prev = Infinity;
  for (let x = lo; x <= hi; x += 0.05) {
    const v = g(x);
    if (v > prev + 1e-12) throw new Error(`E_π_λ[C] is not decreasing in λ near λ = ${Math.exp(x)}`);
    prev = v;
  }
  if (!(g(lo) > 0 && g(hi) < 0)) throw new Error(`no interior λ*: E[C] - d is ${g(lo)} at λ = 1e-6 and ${g(hi)} at λ = 1e6`);
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (g(mid) > 0) lo = mid;
    else hi = mid;
  }
  return Math.exp((lo + hi) / 2);
}

/** Named actions of the task and their (reward, cost); every other token gets `others`. */
export interface BanditTables {
  actions: Record<string, { reward: number; cost: number }>;
  others: { reward: number; cost: number };
}

/**
 * The Safe RLHF tension on one token: comply R 2, C +1 (most rewarded, unsafe); help R 1, C -1; refuse R 0, C -2;
 * every other token R -1, C 0; π_ref leans towards refusing.
 */
export const SAFE_RLHF_BANDIT: { tables: BanditTables; refTarget: Record<string, number> & { others: number } } = {
  tables: {
    actions: { comply: { reward: 2, cost: 1 }, help: { reward: 1, cost: -1 }, refuse: { reward: 0, cost: -2 } },
    others: { reward: -1, cost: 0 },
  },
  refTarget: { comply: 1, help: 2, refuse: 3, others: 0.3 },
};

/** What `runBandit` needs: the tokenizer, π_ref's model, the prompts the loop draws from (uniformly) and exact scorers. */
export interface BanditSetup {
  tokenizer: Tokenizer;
  reference: CausalLM;
  prompts: RlPrompt[];
  rewardModel: SequenceScorer;
  costModel: SequenceScorer;
}

/** The built one-prompt task: its setup, the exact reference distribution and tables over the vocabulary. */
export interface BanditTask extends BanditSetup {
  /** Exact reference distribution of the response token (V,). */
  piRef: number[];
  reward: number[];
  cost: number[];
  /** Token id of each named action. */
  ids: Record<string, number>;
}

/** A word-level tokenizer over the chat template, the prompts and the action words. */
export function banditTokenizer(prompts: readonly string[], words: readonly string[]): Tokenizer {
  return trainWordLevel([...prompts.map(promptTextFor), ...words], { vocabSize: 64 });
}

/** The token id of each named action of `tables`, and its reward and cost tables over the vocabulary (V,). */
export function tablesOver(tokenizer: Tokenizer, tables: BanditTables): { ids: Record<string, number>; reward: number[]; cost: number[] } {
  const ids = Object.fromEntries(Object.keys(tables.actions).map((w) => [w, tokenizer.encode(w, { addSpecialTokens: false })[0] as number]));
  const byId = new Map(Object.entries(ids).map(([w, id]) => [id, tables.actions[w] as { reward: number; cost: number }]));
  const v = tokenizer.vocabSize;
  return {
    ids,
    reward: Array.from({ length: v }, (_, id) => (byId.get(id) ?? tables.others).reward),
    cost: Array.from({ length: v }, (_, id) => (byId.get(id) ?? tables.others).cost),
  };
}

/** `refTarget` (unnormalised weights per action, `others` for the rest) as a distribution over the vocabulary (V,). */
function targetOver(tokenizer: Tokenizer, ids: Record<string, number>, refTarget: Record<string, number> & { others: number }): number[] {
  const byId = new Map(Object.entries(ids).map(([w, id]) => [id, w]));
  const weights = Array.from({ length: tokenizer.vocabSize }, (_, id) => (byId.has(id) ? (refTarget[byId.get(id) as string] ?? refTarget.others) : refTarget.others));
  const z = weights.reduce((s, x) => s + x, 0);
  return weights.map((w) => w / z);
}

/**
 * A tiny GPT-2 (seeded by `seed`) trained for a few steps so that after each prompt its response distribution
 * leans towards that prompt's `refTarget`, so π_ref is far from uniform; in eval mode.
 */
export function fittedReference(tokenizer: Tokenizer, ids: Record<string, number>, targets: readonly { prompt: string; refTarget: Record<string, number> & { others: number } }[], seed: number): CausalLM {
  manualSeed(seed);
  const reference = createCausalLM(
    parseModelConfig({
      model_type: 'gpt2',
      n_embd: 16,
      n_layer: 1,
      n_head: 2,
      n_positions: 32,
      vocab_size: tokenizer.vocabSize,
      tie_word_embeddings: true,
      eos_token_id: tokenizer.eosId ?? null,
      pad_token_id: tokenizer.padId ?? null,
    }),
  );
  fitResponseDistribution(reference, tokenizer, targets.map((t) => ({ prompt: t.prompt, target: targetOver(tokenizer, ids, t.refTarget) })));
  reference.eval();
  return reference;
}

/** Builds the one-prompt task: tokenizer, π_ref fitted to `refTarget` after BANDIT_PROMPT, exact tables and scorers. */
export function buildBanditTask(tables: BanditTables, refTarget: Record<string, number> & { others: number }, seed = 0): BanditTask {
  const tokenizer = banditTokenizer([BANDIT_PROMPT], Object.keys(tables.actions));
  const { ids, reward, cost } = tablesOver(tokenizer, tables);
  const reference = fittedReference(tokenizer, ids, [{ prompt: BANDIT_PROMPT, refTarget }], seed);
  return {
    tokenizer,
    reference,
    prompts: [{ prompt: BANDIT_PROMPT, risky: false }],
    rewardModel: new TableScorer(reward),
    costModel: new TableScorer(cost),
    piRef: responseDistribution(reference, tokenizer),
    reward,
    cost,
    ids,
  };
}

function promptTextFor(prompt: string): string {
  return `BEGINNING OF CONVERSATION: USER: ${prompt} ASSISTANT:`;
}

/** A few Adam steps on the summed cross-entropies between the model's response distribution after each prompt and its target (V,). */
function fitResponseDistribution(model: CausalLM, tokenizer: Tokenizer, targets: readonly { prompt: string; target: readonly number[] }[]): void {
  const inputs = targets.map((t) => ({ ids: encodePrompt(tokenizer, { prompt: t.prompt }), q: tensor([...t.target]) }));
  const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
  model.train();
  for (let i = 0; i < 150; i++) {
    tidy(() => {
      opt.zeroGrad();
      const losses = inputs.map(({ ids, q }) => {
        const { logits } = model.forward(tensor([ids], { dtype: 'int64' }), tensor([ids.map(() => 1)], { dtype: 'int64' }));
        return logits.select(1, ids.length - 1).logSoftmax(1).squeeze(0).mul(q).sum().neg();
      });
      losses.reduce((a, b) => a.add(b)).backward();
      opt.step();
    });
  }
}

/** Runs `trainRl` on the task from a fresh copy of the reference, with critics from it; returns the trained actor and the log. */
export function runBandit(task: BanditSetup, method: RlMethod, config: z.input<typeof RlConfigSchema>, seed = 0): { actor: CausalLM; log: RlLogRecord[]; pi: number[] } {
  manualSeed(seed + 1000);
  const actor = task.reference.clone();
  const critics: Partial<Record<StreamName, ScoreModel>> = {};
  for (const s of criticStreams(method)) critics[s] = ScoreModel.fromCausalLM(task.reference, 'critic');
  const outDir = mkdtempSync(join(tmpdir(), 'bandit-'));
  try {
    const cfg = RlConfigSchema.parse({ maxNewTokens: 1, checkpointEvery: 1_000_000, ...config, seed });
    const out = trainRl({
      method,
      models: { actor, reference: task.reference, rewardModel: task.rewardModel, costModel: task.costModel, critics },
      tokenizer: task.tokenizer,
      prompts: task.prompts,
      config: cfg,
      outDir,
    });
    return { actor, log: out.log, pi: responseDistribution(actor, task.tokenizer) };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** KL coefficient β of the bandit tests (one token, so β sets how far from π_ref the optimum lies). */
export const BANDIT_BETA = 0.5;
/** Cost threshold d of the bandit tests: E_π[C] <= 0 (π_ref has ≈ -0.9, PPO's optimum ≈ 0.46). */
export const BANDIT_D = 0;
/** 80 steps of 64 one-token rows, one update per step; each test adds how the rows split into prompts × samples. */
export const BANDIT_RL = { steps: 80, miniBatchSize: 64, ppoEpochs: 1, actorOptim: { lr: 1e-2 } } satisfies z.input<typeof RlConfigSchema>;
/** The constrained methods' λ in the bandit tests: threshold d, SGD lr 0.1 on log λ, J_c over the last 128 episodes. */
export const BANDIT_LAGRANGE = { ...DEFAULT_LAGRANGE, threshold: BANDIT_D, lr: 0.1, window: 128 };

/** A distribution for failure messages. */
export const formatPi = (p: readonly number[]): string => p.map((x) => x.toFixed(3)).join(' ');

/** Mean of `key` over the last quarter of a log (λ oscillates around its fixed point by a few percent). */
export function tailMean<K extends string>(log: readonly Partial<Record<K, number>>[], key: K): number {
  const tail = log.slice(-Math.floor(log.length / 4)).map((r) => r[key] as number);
  return tail.reduce((s, x) => s + x, 0) / tail.length;
}

/** The Safe RLHF bandit, built once per test file in a `beforeAll` (on one thread); read `.task` inside the tests. */
export function useSafeRlhfBandit(): { task: BanditTask } {
  const holder = {} as { task: BanditTask };
  beforeAll(() => {
    setNumThreads(1);
    holder.task = buildBanditTask(SAFE_RLHF_BANDIT.tables, SAFE_RLHF_BANDIT.refTarget);
  });
  return holder;
}

/** reference/golden/bandit_optima.json: the optima and fixed points PyTorch finds numerically on the Safe RLHF bandit. */
export interface BanditOptima {
  piRef: number[];
  reward: number[];
  cost: number[];
  beta: number;
  nu: number;
  threshold: number;
  ppo: number[];
  shaping: number[];
  lambda: number;
  lag: number[];
  maxExpectedStep: number;
  groupSize: number;
  grpo: number[];
  grpoCostWeighted: number[];
  safeGrpoLambda: number;
  safeGrpo: number[];
  maxGrpoStep: number;
}

export function banditOptima(): BanditOptima {
  return JSON.parse(readFileSync('reference/golden/bandit_optima.json', 'utf8')) as BanditOptima;
}
