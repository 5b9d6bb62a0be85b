// The fixed-rollout RL step of reference/rl_step.py: the golden file, its models and settings, and parameter checks (shared by the golden test and the data-parallel worker; no vitest here).
import { readFileSync } from 'node:fs';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { ppoMethod } from '../../src/algorithms/ppo/method.js';
import { rewardShapingMethod } from '../../src/algorithms/reward-shaping/method.js';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { criticStreams, type RlMethod, type StreamName } from '../../src/algorithms/rl/method.js';
import { createRlContext } from '../../src/algorithms/rl/context.js';
import { fixedRollout } from '../../src/algorithms/rl/rollout.js';
import { loadPretrained, loadStateDict, ScoreModel, type CausalLM } from '../../src/models/index.js';
import { setNumThreads, tensor } from '../../src/torch/index.js';
import type { Nested } from './allclose.js';

export type Streams = Partial<Record<StreamName, Nested>>;
export interface Expected {
  oldLogProbs: Nested;
  refLogProbs: Nested;
  reward: Nested;
  cost: Nested;
  values: Streams;
  kl: Nested;
  tokenScores: Streams;
  advantages: Streams;
  returns: Streams;
  lambda: number | null;
  jc: number | null;
  combined: Nested;
  whitened: Nested;
  updates: { actorLoss: number; actorGradNorm: number; clipFraction: number; critics: Record<string, { loss: number; gradNorm: number }> }[];
  log: { reward: number; cost: number; kl: number; actorLoss: number; clipFraction: number; criticLoss: Record<string, number> };
  actorAfter: Record<string, Nested>;
  criticsAfter: Record<string, Record<string, Nested>>;
}
export const golden = JSON.parse(readFileSync('reference/golden/rl_step.json', 'utf8')) as {
  sequences: number[][];
  attentionMask: number[][];
  mask: number[][];
  promptLength: number;
  ptx: { promptIds: number[]; responseIds: number[] };
  settings: Record<string, number> & { lagrange: { threshold: number; init: number; lr: number; window: number } };
  ppo_lag: Record<Aggregation, Expected>;
  ppo: { token: Expected };
  shaping: { token: Expected };
};
export type Aggregation = 'token' | 'per-sequence';
export type MethodName = 'ppo_lag' | 'ppo' | 'shaping';
export const S = golden.settings;

// float32 (TS) against float64 (PyTorch) from the same float32 weights: scores, log-probs, advantages, losses
// and gradient norms within 1e-5 (abs + rel; measured ≤ ~1e-6). Parameters after the two AdamW steps within
// 1e-4 absolute (measured ≤ 1.8e-5): Adam divides by √v, so float32 rounding in a small gradient becomes a
// visible share of that weight's step; a wrong sign anywhere moves weights by ~lr = 4e-3.
export const TOL = { atol: 1e-5, rtol: 1e-5 };
export const PARAM_TOL = { atol: 1e-4, rtol: 0 };

function makeMethod(name: MethodName): RlMethod {
  const shaping = { klCoef: S.klCoef as number, scoreClip: S.scoreClip as number };
  if (name === 'ppo') return ppoMethod(shaping);
  if (name === 'shaping') return rewardShapingMethod({ ...shaping, nu: S.nu as number });
  return ppoLagMethod({ ...shaping, lagrange: { ...S.lagrange, max: null, delaySteps: 0, rule: 'multiplicative' } });
}

export function setup(name: MethodName, aggregation: Aggregation) {
  setNumThreads(1);
  const actor = loadPretrained('reference/golden/tiny-gpt2').model as CausalLM;
  const reference = actor.clone();
  reference.loadStateDict(loadStateDict('reference/golden/rl-step/reference'));
  const score = (dir: string, kind: 'reward' | 'cost') => {
    const m = new ScoreModel(actor.config, kind);
    m.loadStateDict(loadStateDict(`reference/golden/rl-step/${dir}`));
    return m;
  };
  const rewardModel = score('reward', 'reward');
  const costModel = score('cost', 'cost');
  const method = makeMethod(name);
  const critics: Partial<Record<StreamName, ScoreModel>> = {};
  for (const s of criticStreams(method)) critics[s] = ScoreModel.fromScoreModel(s === 'reward' ? rewardModel : costModel, 'critic');
  const config = RlConfigSchema.parse({
    promptsPerStep: 4,
    miniBatchSize: S.miniBatchSize,
    ppoEpochs: 1,
    gamma: S.gamma,
    gaeLambda: S.gaeLambda,
    clipRange: S.clipRange,
    valueClip: S.valueClip,
    scoreClip: S.scoreClip,
    whitenAdvantages: true,
    ptxCoef: S.ptxCoef,
    lossAggregation: aggregation,
    actorOptim: { lr: S.actorLr, weightDecay: S.weightDecay, gradClip: S.actorGradClip },
    criticOptim: { lr: S.criticLr, weightDecay: S.weightDecay, gradClip: S.criticGradClip },
  });
  const models = { actor, reference, rewardModel, costModel, critics };
  const ctx = createRlContext(method, models, config, [golden.ptx], 0);
  const rollout = fixedRollout(actor, tensor(golden.sequences, { dtype: 'int64' }), tensor(golden.attentionMask, { dtype: 'int64' }), tensor(golden.mask), golden.promptLength);
  return { ctx, rollout, models, method };
}


