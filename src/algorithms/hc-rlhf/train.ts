// HC-RLHF: split the prompts, train a candidate with RLOO- or PPO-Lagrangian against the inflated bound c̄ + k·ŝ <= τ, then run the Student-t safety test on the held-out prompts.
import { ConfigError } from '../../config/schema-cli.js';
import { silentProgress, type Progress } from '../../core/progress.js';
import { ScoreModel, type CausalLM, type SequenceScorer, type Tokenizer } from '../../models/index.js';
import type { PromptOptions } from '../../models/prompt.js';
import { hcInflation, safetyTest, type LagrangeConfig, type SafetyTestResult } from '../../rl/index.js';
import { manualSeed, noGrad, tidy } from '../../torch/index.js';
import { Rng } from '../../world/rng.js';
import { encodePrompt } from '../common/batching.js';
import { fitLength } from '../common/truncation.js';
import { ppoLagMethod } from '../ppo-lag/method.js';
import { rlooLagMethod } from '../rloo-lag/method.js';
import type { RlConfig } from '../rl/config.js';
import { criticStreams, type StreamName } from '../rl/method.js';
import { sampleRollout } from '../rl/rollout.js';
import { trainRl, type RlLogRecord, type RlPrompt, type RlTruncation } from '../rl/train.js';
import type { HcRlhfConfig } from './config.js';

export interface HcRlhfResult {
  /** The safety test's verdict: false = "no solution found" (the candidate must not be returned). */
  passed: boolean;
  test: SafetyTestResult;
  /** k of the candidate's bound c̄ + k·ŝ <= τ. */
  inflation: number;
  split: { candidate: number; safety: number; safetySkipped: number };
  candidate: { steps: number; log: RlLogRecord[]; truncation: RlTruncation };
  /** The safety set's responses and their costs (one per prompt, in the split's order). */
  safetyCosts: number[];
}

/** Splits `prompts` into the candidate set and the safety set (a share `safetyFraction`, at least 2 of each), by a seeded shuffle. */
export function splitPrompts<T>(prompts: readonly T[], safetyFraction: number, seed: number): { candidate: T[]; safety: T[] } {
  const shuffled = new Rng(seed).derive('hc-rlhf-split').shuffle(prompts);
  const nSafety = Math.round(safetyFraction * prompts.length);
  if (nSafety < 2 || prompts.length - nSafety < 2) {
    throw new RangeError(`HC-RLHF needs at least 2 candidate and 2 safety prompts: ${prompts.length} prompts with safetyFraction ${safetyFraction} give ${prompts.length - nSafety} and ${nSafety}`);
  }
  return { candidate: shuffled.slice(nSafety), safety: shuffled.slice(0, nSafety) };
}

/**
 * Costs of one response of `policy` to each prompt (sampled as in RL rollouts, scored by `cost` on the whole sequence,
 * as the RL loop scores them), in batches of `batchSize`. Prompts with no room for maxNewTokens in `context` are skipped.
 */
export function sampleCosts(args: {
  policy: CausalLM;
  cost: SequenceScorer;
  tokenizer: Tokenizer;
  prompts: readonly RlPrompt[];
  rl: Pick<RlConfig, 'maxNewTokens' | 'temperature' | 'topP'>;
  context: number;
  seed: number;
  batchSize?: number;
  prompt?: PromptOptions;
}): { costs: number[]; skipped: number } {
  const { tokenizer, rl } = args;
  const encoded = args.prompts.map((p) => encodePrompt(tokenizer, p, args.prompt)).filter((ids) => ids.length <= args.context - rl.maxNewTokens);
  const tokens = { padId: tokenizer.padId ?? 0, eosId: tokenizer.eosId };
  const size = args.batchSize ?? 64;
  const costs: number[] = [];
  args.cost.eval();
  for (let i = 0; i < encoded.length; i += size) {
    manualSeed(args.seed * 100_003 + i);
    costs.push(
      ...tidy(() => {
        const r = sampleRollout(args.policy, encoded.slice(i, i + size), rl, tokens);
        return noGrad(() => args.cost.forward(r.sequences, r.attentionMask).endScores.toNumbers());
      }),
    );
  }
  return { costs, skipped: args.prompts.length - encoded.length };
}

/**
 * HC-RLHF (Chittepu et al. 2025). The prompts are split into a candidate set and a safety set of n_s prompts. The
 * candidate (`policy`, trained in place from its start) maximises reward under the inflated constraint
 * J_c = c̄ + k·ŝ <= τ over the Lagrange window of n_b episodes, k = hcInflation(δ, n_b, n_s, C1, C2). The safety test
 * then samples one response per safety prompt and passes iff c̄ + t_{1−δ,n_s−1}·ŝ/√n_s <= τ; otherwise the result is
 * "no solution found" (`passed` false) and the caller must not return the candidate as a solution.
 * The candidate resumes from `<outDir>/checkpoint` like any RL run.
 */
export function trainHcRlhf(args: {
  policy: CausalLM;
  reference: CausalLM;
  reward: SequenceScorer;
  cost: SequenceScorer;
  /** The score models the critics of 'ppo-lag' start from (unused by 'rloo-lag'). */
  criticInit: Record<StreamName, ScoreModel>;
  tokenizer: Tokenizer;
  prompts: readonly RlPrompt[];
  ptxData?: readonly { prompt: string; response: string }[];
  /** τ, in the cost model's units. */
  tau: number;
  klCoef: number;
  lagrange: Omit<LagrangeConfig, 'threshold' | 'inflation'>;
  config: HcRlhfConfig;
  rl: RlConfig;
  outDir: string;
  progress?: Progress;
  prompt?: PromptOptions;
}): HcRlhfResult {
  const { config, rl } = args;
  const progress = args.progress ?? silentProgress;
  const split = splitPrompts(args.prompts, config.safetyFraction, rl.seed);
  const inflation = hcInflation({ delta: config.delta, nBatch: args.lagrange.window, nSafety: split.safety.length, c1: config.c1, c2: config.c2 });
  progress.log(`hc-rlhf: ${split.candidate.length} candidate prompts, ${split.safety.length} safety prompts; candidate bound c̄ + ${inflation.toFixed(4)}·ŝ <= τ = ${args.tau}`);
  const lagrange = { ...args.lagrange, threshold: args.tau, inflation };
  const shaping = { klCoef: args.klCoef, scoreClip: rl.scoreClip, lagrange };
  const method = config.candidate === 'rloo-lag' ? rlooLagMethod(shaping) : ppoLagMethod(shaping);
  const critics: Partial<Record<StreamName, ScoreModel>> = {};
  for (const s of criticStreams(method)) critics[s] = ScoreModel.fromScoreModel(args.criticInit[s], 'critic');
  const candidate = trainRl({
    method,
    models: { actor: args.policy, reference: args.reference, rewardModel: args.reward, costModel: args.cost, critics },
    tokenizer: args.tokenizer,
    prompts: split.candidate,
    ...(args.ptxData ? { ptxData: args.ptxData } : {}),
    config: rl,
    outDir: args.outDir,
    progress,
    ...(args.prompt ? { prompt: args.prompt } : {}),
  });
  const context = fitLength(Infinity, args.policy.contextLength, args.cost.contextLength);
  const safety = sampleCosts({ policy: args.policy, cost: args.cost, tokenizer: args.tokenizer, prompts: split.safety, rl, context, seed: rl.seed + 7919, ...(args.prompt ? { prompt: args.prompt } : {}) });
  if (safety.costs.length < 2) {
    throw new ConfigError(`hc-rlhf: only ${safety.costs.length} of the ${split.safety.length} safety prompts leave room for ${rl.maxNewTokens} new tokens in the context (${context}); the safety test needs at least 2. Use shorter prompts or lower rl.maxNewTokens.`);
  }
  const test = safetyTest(safety.costs, { tau: args.tau, delta: config.delta });
  progress.log(
    `hc-rlhf safety test on ${test.n} held-out prompts: c̄ ${test.mean.toFixed(4)} + t·ŝ/√n = ${test.upperBound.toFixed(4)} ${test.passed ? '<=' : '>'} τ ${args.tau}: ${test.passed ? 'passed' : 'no solution found'}`,
  );
  return {
    passed: test.passed,
    test,
    inflation,
    split: { candidate: split.candidate.length, safety: split.safety.length, safetySkipped: safety.skipped },
    candidate: { steps: candidate.steps, log: candidate.log, truncation: candidate.truncation },
    safetyCosts: safety.costs,
  };
}
