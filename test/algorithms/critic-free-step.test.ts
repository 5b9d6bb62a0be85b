// One RL step of each critic-free method on a sampled rollout of G samples per prompt: the actor advantages are the golden-tested group formulas of the step's own scores.
import { describe, expect, it } from 'vitest';
import { GrpoSchema } from '../../src/algorithms/grpo/config.js';
import { grpoMethod, safeGrpoMethod } from '../../src/algorithms/grpo/method.js';
import { createRlContext, rlStep, sampleRollout, type StepTrace } from '../../src/algorithms/rl/phases.js';
import type { RlMethod } from '../../src/algorithms/rl/method.js';
import { rlooLagMethod } from '../../src/algorithms/rloo-lag/method.js';
import { encodePrompt } from '../../src/algorithms/common/batching.js';
import { combineAdvantages, DEFAULT_LAGRANGE, groupAdvantages, leaveOneOutAdvantages, normaliseThenSum } from '../../src/rl/index.js';
import { manualSeed, type Tensor } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';
import { expectAllClose } from '../helpers/allclose.js';
import { paramHash, tinyActor, tinyConfig, tinyModels, tinyPrompts } from './rl-tiny.js';

const G = 3;
const BETA = 0.1;
const lagrange = { ...DEFAULT_LAGRANGE, threshold: 0 };
const TOL = { atol: 1e-5, rtol: 1e-5 };

/** One step of `method` on 2 prompts × G samples; the trace and the actor's parameter hash after it. */
function step(method: RlMethod, ppoEpochs = 1): { trace: StepTrace; actorHash: string } {
  const { tokenizer, models } = tinyModels(method);
  // a reference other than the actor, so that the KL terms are not 0
  models.reference = tinyActor(tokenizer, 9);
  const config = tinyConfig({ samplesPerPrompt: G, promptsPerStep: 2, miniBatchSize: 6, ppoEpochs, ptxCoef: 0 });
  const ctx = createRlContext(method, models, config, [], tokenizer.padId ?? 0);
  const ids = [0, 1].flatMap((p) => Array<number[]>(G).fill(encodePrompt(tokenizer, tinyPrompts[p] as { prompt: string })));
  manualSeed(7);
  const rollout = sampleRollout(models.actor, ids, config, { padId: tokenizer.padId ?? 0, eosId: tokenizer.eosId });
  const { trace } = rlStep(ctx, rollout, 1, new Rng(0));
  return { trace, actorHash: paramHash(models.actor) };
}

/** The combined advantage as (B,) (it is the same on every response token) and a check that it is. */
function perSequence(trace: StepTrace): number[] {
  const a = trace.combinedAdvantages.toNumbers();
  const m = trace.view.mask.toNumbers();
  const t = trace.view.mask.shape[1] as number;
  return Array.from({ length: a.length / t }, (_, i) => {
    const row = a.slice(i * t, (i + 1) * t).filter((_, j) => (m[i * t + j] as number) > 0);
    expect(Math.max(...row) - Math.min(...row)).toBeLessThan(1e-6);
    return row[0] as number;
  });
}
const seqKl = (trace: StepTrace) => trace.view.kl.sum(1);

describe('critic-free RL step (2 prompts × G = 3 samples)', () => {
  it('grpo: group advantage of R − w·C on every token, no critic; with normalise-then-sum: z(z_g(R) − w·z_g(C))', () => {
    const w = 0.5;
    const sum = step(grpoMethod({ ...GrpoSchema.parse({ klCoef: BETA, costWeight: w }), scoreClip: 50 })).trace;
    expect(sum.scores.values).toEqual({});
    const { reward, cost } = sum.scores as { reward: Tensor; cost: Tensor };
    expectAllClose(perSequence(sum), groupAdvantages(reward.sub(cost.mul(w)), G, 'group').toNumbers(), TOL);
    const apart = step(grpoMethod({ ...GrpoSchema.parse({ klCoef: BETA, costWeight: w, combine: 'normalise-then-sum' }), scoreClip: 50 })).trace;
    expectAllClose(perSequence(apart), normaliseThenSum([reward, cost], [1, -w], G).toNumbers(), TOL);
    // the same rollout (the policy has not moved before the update), other advantages
    expect(apart.scores.reward.toNumbers()).toEqual(reward.toNumbers());
    expect(Math.max(...perSequence(apart).map((a, i) => Math.abs(a - (perSequence(sum)[i] as number))))).toBeGreaterThan(1e-3);
  });

  it('safe grpo: (z_g(R) − λ·z_g(C))/(1 + λ) with the step\'s λ; rloo-lag: the same with leave-one-out baselines of R − β·ΣKL and C + β·ΣKL', () => {
    const safe = step(safeGrpoMethod({ klCoef: BETA, scaleRewards: 'group', scoreClip: 50, lagrange })).trace;
    const lambda = safe.constraint.lambda as number;
    expect(lambda).not.toBe(1);
    const { reward, cost } = safe.scores as { reward: Tensor; cost: Tensor };
    expectAllClose(perSequence(safe), combineAdvantages(groupAdvantages(reward, G), groupAdvantages(cost, G), lambda).toNumbers(), TOL);
    const rloo = step(rlooLagMethod({ klCoef: BETA, scoreClip: 50, lagrange })).trace;
    const kl = seqKl(rloo).mul(BETA);
    const want = combineAdvantages(leaveOneOutAdvantages(reward.sub(kl), G), leaveOneOutAdvantages(cost.add(kl), G), rloo.constraint.lambda as number);
    expectAllClose(perSequence(rloo), want.toNumbers(), TOL);
    expect(Math.min(...seqKl(rloo).abs().toNumbers())).toBeGreaterThan(0.01);
  });

  it("the k3 term reaches the update: with β > 0 grpo's loss is larger and the actor moves differently", () => {
    // Both losses start from the same rollout; k3 > 0 adds to every update's loss and gradient.
    const a = step(grpoMethod({ ...GrpoSchema.parse({ klCoef: 0 }), scoreClip: 50 }), 2);
    const b = step(grpoMethod({ ...GrpoSchema.parse({ klCoef: 5 }), scoreClip: 50 }), 2);
    expect(a.trace.scores.reward.toNumbers()).toEqual(b.trace.scores.reward.toNumbers());
    expect(b.trace.update.updates[0]?.actorLoss).toBeGreaterThan(a.trace.update.updates[0]?.actorLoss as number);
    expect(a.actorHash).not.toBe(b.actorHash);
  });
});
