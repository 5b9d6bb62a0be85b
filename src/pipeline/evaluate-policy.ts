// Evaluates one policy on the test prompts (gold harm and helpfulness, reward/cost model scores, KL, diversity) and on held-out requests (gold).
import type { GoldJudge, RlPrompt } from '../algorithms/rl/train.js';
import { responseSlice } from '../algorithms/rl/rollout.js';
import { sequenceLogProbs, type CausalLM, type ScoreModel } from '../models/index.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { manualSeed } from '../torch/index.js';
import { distinctN } from '../eval/diversity.js';
import { scoreTexts } from '../eval/model-responses.js';
import { sampleResponses } from './sample-responses.js';

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
  /** Mean over responses of Σ_t (log π - log π_ref), π_ref the SFT policy. */
  kl: number;
  /** The same against the policy this model's training started from (iterative rounds: the previous round's policy). */
  klToStart?: number;
  distinct2: number;
  responseLength: number;
  n: number;
  /** Responses to risky prompts (the harmful rate's denominator). */
  nRisky: number;
  /** Gold harmful rate and helpfulness on requests held out of all training data (world README, "Held-out requests"). */
  heldOut?: { harmfulRate: number; helpfulness: number; n: number; nRisky: number };
  scatter: ScatterPoint[];
  /** Every response, in the order of the evaluation prompts (for head-to-head judging). */
  responses: string[];
  examples: { prompt: string; response: string; risky: boolean; safe: boolean }[];
}

/** Reward and cost model end scores of fixed (prompt, response) texts, with their safety labels (each fitted to the model's context, response end kept). */
export function scoreResponses(
  rewardModel: ScoreModel,
  costModel: ScoreModel,
  tokenizer: Tokenizer,
  items: readonly { prompt: string; response: string; safe: boolean }[],
): ScatterPoint[] {
  const texts = items.map((it) => ({ prompt: { prompt: it.prompt }, response: it.response }));
  const scores = (model: ScoreModel) => scoreTexts({ model, tokenizer, maxLength: model.contextLength }, texts, 64).scores;
  const reward = scores(rewardModel);
  const cost = scores(costModel);
  return items.map((it, i) => ({ reward: reward[i] as number, cost: cost[i] as number, safe: it.safe }));
}

const repeat = (prompts: readonly RlPrompt[], k: number): RlPrompt[] => prompts.flatMap((p) => Array.from({ length: k }, () => p));

export function evaluatePolicy(args: {
  name: string;
  policy: CausalLM;
  /** The SFT policy (`kl`). */
  reference: CausalLM;
  /** The policy training started from, when it is not the SFT policy (`klToStart`). */
  startReference?: CausalLM;
  rewardModel: ScoreModel;
  costModel: ScoreModel;
  tokenizer: Tokenizer;
  /** Test prompts. */
  prompts: readonly RlPrompt[];
  /** Prompts of requests held out of all training data: judged by gold only (`heldOut`). */
  heldOutPrompts?: readonly RlPrompt[];
  config: { samplesPerPrompt: number; heldOutSamplesPerPrompt?: number; temperature: number; maxNewTokens: number };
  seed: number;
  judge: GoldJudge;
  batchSize?: number;
}): PolicyEval {
  const { tokenizer, config } = args;
  const batchSize = args.batchSize ?? 64;
  const items = repeat(args.prompts, config.samplesPerPrompt);
  const rewards: number[] = [];
  const costs: number[] = [];
  const kls: number[] = [];
  const klsToStart: number[] = [];
  const lengths: number[] = [];
  manualSeed(args.seed + 7919);
  const responses = sampleResponses(args.policy, tokenizer, items, config, batchSize, (r) => {
    const klTo = (reference: CausalLM) => {
      const ref = responseSlice(sequenceLogProbs(reference, r.sequences, r.attentionMask), r.promptLength, r.mask.shape[1] as number);
      return r.oldLogProbs.sub(ref).mul(r.mask).sum(1).toNumbers();
    };
    kls.push(...klTo(args.reference));
    if (args.startReference) klsToStart.push(...klTo(args.startReference));
    rewards.push(...args.rewardModel.forward(r.sequences, r.attentionMask).endScores.toNumbers());
    costs.push(...args.costModel.forward(r.sequences, r.attentionMask).endScores.toNumbers());
    lengths.push(...r.mask.sum(1).toNumbers());
  });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const judged = items.map((p, i) => ({ prompt: p.prompt, response: responses[i] ?? '', risky: p.risky }));
  const gold = args.judge(judged);
  // per-response safety by the same judge: a response judged as an answer to a risky prompt is unsafe iff its harmful rate is 1
  const safe = judged.map((j) => args.judge([{ ...j, risky: true }]).harmfulRate === 0);
  let heldOut: PolicyEval['heldOut'];
  const heldItems = repeat(args.heldOutPrompts ?? [], config.heldOutSamplesPerPrompt ?? config.samplesPerPrompt);
  if (heldItems.length > 0) {
    // its own seed, so the held-out draws do not depend on the test set's size
    manualSeed(args.seed + 7919 * 2);
    const heldResponses = sampleResponses(args.policy, tokenizer, heldItems, config, batchSize);
    const g = args.judge(heldItems.map((p, i) => ({ prompt: p.prompt, response: heldResponses[i] ?? '', risky: p.risky })));
    heldOut = { harmfulRate: g.harmfulRate, helpfulness: g.helpfulness, n: heldItems.length, nRisky: heldItems.filter((p) => p.risky).length };
  }
  return {
    name: args.name,
    harmfulRate: gold.harmfulRate,
    helpfulness: gold.helpfulness,
    meanReward: mean(rewards),
    meanCost: mean(costs),
    kl: mean(kls),
    ...(args.startReference ? { klToStart: mean(klsToStart) } : {}),
    distinct2: distinctN(responses, 2),
    responseLength: mean(lengths),
    n: items.length,
    nRisky: items.filter((p) => p.risky).length,
    ...(heldOut ? { heldOut } : {}),
    responses,
    scatter: rewards.map((r, i) => ({ reward: r, cost: costs[i] as number, safe: safe[i] as boolean })),
    examples: judged.slice(0, 400).filter((_, i) => i % 8 === 0).map((j, k) => ({ ...j, safe: safe[k * 8] as boolean })),
  };
}
