// Evaluates one policy on the test prompts (gold harm and helpfulness, reward/cost model scores, KL, diversity) and on held-out requests (gold).
import type { GoldJudge, RlPrompt } from '../algorithms/rl/train.js';
import { responseSlice } from '../algorithms/rl/rollout.js';
import { sequenceLogProbs, type CausalLM, type ScoreModel } from '../models/index.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { manualSeed } from '../torch/index.js';
import { textDiversity } from '../eval/diversity.js';
import { embeddingDiversity, type Embedder } from '../eval/embedding-diversity.js';
import { scoreTexts } from '../eval/model-responses.js';
import { sampleResponses } from './sample-responses.js';
import { bestOfNKl, pickBest, type ScoreRule } from '../algorithms/best-of-n/rule.js';
import type { CategoryHarm } from '../eval/category-harm.js';

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
  /** Self-BLEU-4 and mean pairwise ROUGE-L F1 over an even sample of eval.diversitySample test responses (higher = less diverse); absent in stages evaluated before they existed. */
  selfBleu?: number;
  rougeL?: number;
  /** Mean pairwise cosine distance of the test responses' mean-pooled hidden states under the SFT policy (higher = more diverse). */
  embeddingDiversity?: number;
  responseLength: number;
  n: number;
  /** Responses to risky prompts (the harmful rate's denominator). */
  nRisky: number;
  /** Gold harmful rate and helpfulness on requests held out of all training data (world README, "Held-out requests"). */
  heldOut?: { harmfulRate: number; helpfulness: number; n: number; nRisky: number };
  /** Gold harmful rate per harm category of the risky test prompts; the pipeline fills it for every model from `scatter`'s verdicts (stages evaluated before it existed too). */
  harmfulByCategory?: Record<string, CategoryHarm>;
  /** Reward, cost and gold verdict of every test response, in the order of the evaluation items. */
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
  const scores = (model: ScoreModel) => scoreTexts({ model, tokenizer, maxLength: model.contextLength }, items, 64).scores;
  const reward = scores(rewardModel);
  const cost = scores(costModel);
  return items.map((it, i) => ({ reward: reward[i] as number, cost: cost[i] as number, safe: it.safe }));
}

const repeat = (prompts: readonly RlPrompt[], k: number): RlPrompt[] => prompts.flatMap((p) => Array.from({ length: k }, () => p));

/** What a responder gives for evaluation items, in item order: responses and, when scored, their scores, KL and lengths. */
export interface ScoredResponses {
  responses: string[];
  reward: number[];
  cost: number[];
  /** Σ_t (log π − log π_ref) per response, π_ref the SFT policy. */
  kl: number[];
  /** The same against the policy training started from (empty when there is none). */
  klToStart: number[];
  /** Generated tokens per response. */
  lengths: number[];
}

/** Answers evaluation items (one response each); `scored` false asks for responses only (held-out prompts, judged by gold). */
export type Responder = (items: readonly RlPrompt[], scored: boolean) => ScoredResponses;

/** A policy sampling one response per item, scored by the reward and cost models, with its KL to `reference` (and `startReference`). */
export function policyResponder(args: {
  policy: CausalLM;
  reference: CausalLM;
  startReference?: CausalLM | undefined;
  rewardModel: ScoreModel;
  costModel: ScoreModel;
  tokenizer: Tokenizer;
  config: { temperature: number; maxNewTokens: number };
  batchSize: number;
}): Responder {
  return (items, scored) => {
    const out: ScoredResponses = { responses: [], reward: [], cost: [], kl: [], klToStart: [], lengths: [] };
    out.responses = sampleResponses(args.policy, args.tokenizer, items, args.config, args.batchSize, scored ? (r) => {
      const klTo = (reference: CausalLM) => {
        const ref = responseSlice(sequenceLogProbs(reference, r.sequences, r.attentionMask), r.promptLength, r.mask.shape[1] as number);
        return r.oldLogProbs.sub(ref).mul(r.mask).sum(1).toNumbers();
      };
      out.kl.push(...klTo(args.reference));
      if (args.startReference) out.klToStart.push(...klTo(args.startReference));
      out.reward.push(...args.rewardModel.forward(r.sequences, r.attentionMask).endScores.toNumbers());
      out.cost.push(...args.costModel.forward(r.sequences, r.attentionMask).endScores.toNumbers());
      out.lengths.push(...r.mask.sum(1).toNumbers());
    } : undefined);
    return out;
  };
}

/**
 * Best-of-N over `sampler` (the SFT policy at inference): N samples per item, the best by Llama 2's rule
 * (the item's `risky` is the prompt's kind). KL is the analytic bound log N − (N − 1)/N of best-of-N to its sampler.
 */
export function bestOfNResponder(sampler: Responder, n: number, rule: ScoreRule): Responder {
  return (items) => {
    const all = sampler(repeat(items, n), true);
    const picked = items.map((p, i) => {
      const cands = Array.from({ length: n }, (_, j) => ({ reward: all.reward[i * n + j] as number, cost: all.cost[i * n + j] as number }));
      return i * n + pickBest(cands, p.risky, rule);
    });
    const at = (xs: number[]) => picked.map((j) => xs[j] as number);
    return { responses: picked.map((j) => all.responses[j] ?? ''), reward: at(all.reward), cost: at(all.cost), kl: picked.map(() => bestOfNKl(n)), klToStart: [], lengths: at(all.lengths) };
  };
}

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
  config: { samplesPerPrompt: number; heldOutSamplesPerPrompt?: number; temperature: number; maxNewTokens: number; diversitySample?: number };
  seed: number;
  judge: GoldJudge;
  batchSize?: number;
}): PolicyEval {
  const { name, prompts, heldOutPrompts, config, seed, judge } = args;
  const embedder = { model: args.reference, tokenizer: args.tokenizer };
  return evaluateResponder({ name, prompts, heldOutPrompts, config, seed, judge, embedder, respond: policyResponder({ ...args, batchSize: args.batchSize ?? 64 }) });
}

/** Evaluates whatever `respond` answers: gold harm and helpfulness, scores, KL, diversity on the test prompts; gold on the held-out ones. */
export function evaluateResponder(args: {
  name: string;
  respond: Responder;
  prompts: readonly RlPrompt[];
  heldOutPrompts?: readonly RlPrompt[] | undefined;
  config: { samplesPerPrompt: number; heldOutSamplesPerPrompt?: number; temperature: number; maxNewTokens: number; diversitySample?: number };
  seed: number;
  judge: GoldJudge;
  /** The model whose hidden states give the embedding diversity (the SFT policy: one space for every model); none = not reported. */
  embedder?: Embedder;
}): PolicyEval {
  const { config } = args;
  const items = repeat(args.prompts, config.samplesPerPrompt);
  manualSeed(args.seed + 7919);
  const { responses, reward: rewards, cost: costs, kl: kls, klToStart: klsToStart, lengths } = args.respond(items, true);
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
    const heldResponses = args.respond(heldItems, false).responses;
    const g = args.judge(heldItems.map((p, i) => ({ prompt: p.prompt, response: heldResponses[i] ?? '', risky: p.risky })));
    heldOut = { harmfulRate: g.harmfulRate, helpfulness: g.helpfulness, n: heldItems.length, nRisky: heldItems.filter((p) => p.risky).length };
  }
  const diversity = textDiversity(responses, config.diversitySample ?? 200);
  return {
    name: args.name,
    harmfulRate: gold.harmfulRate,
    helpfulness: gold.helpfulness,
    meanReward: mean(rewards),
    meanCost: mean(costs),
    kl: mean(kls),
    ...(klsToStart.length ? { klToStart: mean(klsToStart) } : {}),
    distinct2: diversity.distinct2,
    selfBleu: diversity.selfBleu,
    rougeL: diversity.rougeL,
    ...(args.embedder ? { embeddingDiversity: embeddingDiversity(args.embedder, responses).diversity } : {}),
    responseLength: mean(lengths),
    n: items.length,
    nRisky: items.filter((p) => p.risky).length,
    ...(heldOut ? { heldOut } : {}),
    responses,
    scatter: rewards.map((r, i) => ({ reward: r, cost: costs[i] as number, safe: safe[i] as boolean })),
    examples: judged.slice(0, 400).filter((_, i) => i % 8 === 0).map((j, k) => ({ ...j, safe: safe[k * 8] as boolean })),
  };
}
