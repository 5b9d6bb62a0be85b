// Evaluates one policy on the test prompts: gold harm and helpfulness, reward/cost model scores, KL, diversity.
import { decodeResponses, type GoldJudge, type RlPrompt } from '../algorithms/rl/train.js';
import { chunks, encodePair, padForTraining, padPromptsLeft, promptText } from '../algorithms/common/batching.js';
import { generate, sequenceLogProbs, type CausalLM, type ScoreModel } from '../models/index.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { manualSeed, noGrad, tensor, tidy } from '../torch/index.js';
import { goldHarm } from '../world/oracle.js';

export interface ScatterPoint {
  reward: number;
  cost: number;
  safe: boolean;
}

export interface PolicyEval {
  name: string;
  harmfulRate: number;
  helpfulness: number;
  meanReward: number;
  meanCost: number;
  /** Mean over responses of Σ_t (log π - log π_ref). */
  kl: number;
  distinct2: number;
  responseLength: number;
  n: number;
  /** Responses to risky prompts (the harmful rate's denominator). */
  nRisky: number;
  scatter: ScatterPoint[];
  /** Every response, in the order of the evaluation prompts (for head-to-head judging). */
  responses: string[];
  examples: { prompt: string; response: string; risky: boolean; safe: boolean }[];
  /** Gold metrics on held-out requests (never seen in training), when the world holds some out. */
  heldOut?: { harmfulRate: number; helpfulness: number; n: number; nRisky: number };
}

function distinctN(texts: readonly string[], n: number): number {
  const grams = new Set<string>();
  let total = 0;
  for (const t of texts) {
    const w = t.split(/\s+/).filter(Boolean);
    for (let i = 0; i + n <= w.length; i++) {
      grams.add(w.slice(i, i + n).join(' '));
      total++;
    }
  }
  return total ? grams.size / total : 0;
}

/** Reward and cost model end scores of fixed (prompt, response) texts, with their safety labels. */
export function scoreResponses(
  rewardModel: ScoreModel,
  costModel: ScoreModel,
  tokenizer: Tokenizer,
  items: readonly { prompt: string; response: string; safe: boolean }[],
): ScatterPoint[] {
  const out: ScatterPoint[] = [];
  rewardModel.eval();
  costModel.eval();
  noGrad(() => {
    for (const batch of chunks(items, 64)) {
      tidy(() => {
        const b = padForTraining(batch.map((it) => encodePair(tokenizer, it.prompt, it.response)), tokenizer.padId ?? 0);
        const ids = tensor(b.ids, { dtype: 'int64' });
        const mask = tensor(b.attentionMask, { dtype: 'int64' });
        const r = rewardModel.forward(ids, mask).endScores.toNumbers();
        const c = costModel.forward(ids, mask).endScores.toNumbers();
        batch.forEach((it, i) => out.push({ reward: r[i] as number, cost: c[i] as number, safe: it.safe }));
      });
    }
  });
  return out;
}

export function evaluatePolicy(args: {
  name: string;
  policy: CausalLM;
  reference: CausalLM;
  rewardModel: ScoreModel;
  costModel: ScoreModel;
  tokenizer: Tokenizer;
  prompts: readonly RlPrompt[];
  config: { samplesPerPrompt: number; temperature: number; maxNewTokens: number };
  seed: number;
  judge: GoldJudge;
  batchSize?: number;
}): PolicyEval {
  const { tokenizer, config } = args;
  const padId = tokenizer.padId ?? 0;
  const items = args.prompts.flatMap((p) => Array.from({ length: config.samplesPerPrompt }, () => p));
  const responses: string[] = [];
  const rewards: number[] = [];
  const costs: number[] = [];
  const kls: number[] = [];
  const lengths: number[] = [];
  manualSeed(args.seed + 7919);
  args.policy.eval();
  noGrad(() => {
    for (const batch of chunks(items, args.batchSize ?? 64)) {
      tidy(() => {
        const enc = batch.map((p) => tokenizer.encode(promptText(tokenizer, p.prompt), { addSpecialTokens: false }));
        const prompts = padPromptsLeft(enc, padId);
        const L = prompts.ids[0]?.length ?? 0;
        const gen = generate(args.policy, tensor(prompts.ids, { dtype: 'int64' }), tensor(prompts.attentionMask, { dtype: 'int64' }), {
          maxNewTokens: config.maxNewTokens,
          temperature: config.temperature,
          stopTokenIds: tokenizer.eosId === undefined ? [] : [tokenizer.eosId],
          padId,
        });
        const mask = gen.responseMask.float();
        const T = mask.shape[1] as number;
        const ref = sequenceLogProbs(args.reference, gen.sequences, gen.attentionMask).narrow(1, L - 1, T);
        kls.push(...gen.logProbs.sub(ref).mul(mask).sum(1).toNumbers());
        rewards.push(...args.rewardModel.forward(gen.sequences, gen.attentionMask).endScores.toNumbers());
        costs.push(...args.costModel.forward(gen.sequences, gen.attentionMask).endScores.toNumbers());
        lengths.push(...mask.sum(1).toNumbers());
        responses.push(...decodeResponses(tokenizer, gen.sequences.narrow(1, L, T), mask));
      });
    }
  });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const judged = items.map((p, i) => ({ prompt: p.prompt, response: responses[i] ?? '', risky: p.risky }));
  const gold = args.judge(judged);
  const safe = judged.map((j) => goldHarm(j.prompt, j.response).isSafe);
  return {
    name: args.name,
    harmfulRate: gold.harmfulRate,
    helpfulness: gold.helpfulness,
    meanReward: mean(rewards),
    meanCost: mean(costs),
    kl: mean(kls),
    distinct2: distinctN(responses, 2),
    responseLength: mean(lengths),
    n: items.length,
    nRisky: items.filter((p) => p.risky).length,
    responses,
    scatter: rewards.map((r, i) => ({ reward: r, cost: costs[i] as number, safe: safe[i] as boolean })),
    examples: judged.slice(0, 400).filter((_, i) => i % 8 === 0).map((j, k) => ({ ...j, safe: safe[k * 8] as boolean })),
  };
}
