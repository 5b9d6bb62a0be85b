// One whole RL step (rlStep on a fixed rollout) against reference/rl_step.py (PyTorch): PPO-Lagrangian under both loss aggregations, PPO and shaping.
import { describe, expect, it } from 'vitest';
import type { StreamName } from '../../src/algorithms/rl/method.js';
import { rlStep } from '../../src/algorithms/rl/step.js';
import type { ScoreModel } from '../../src/models/index.js';
import { tensor, type Tensor } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';
import { expectAllClose, type Nested } from '../helpers/allclose.js';
import { golden, PARAM_TOL, S, setup, TOL, type Aggregation, type Expected, type MethodName } from '../helpers/rl-step-setup.js';

/**
 * Parameters after the update at PARAM_TOL, except the attention key bias (the middle third of
 * c_attn.bias): softmax ignores a shift shared by all keys, so its true gradient is 0 and what both
 * sides compute is rounding noise (~1e-9 in float32, ~1e-17 in float64), which Adam's first steps
 * scale up to ~lr. Those elements are only required to stay within 2·lr (two steps) of PyTorch.
 */
function expectParamClose(name: string, p: Tensor, expected: Nested, lr: number) {
  const actual = p.toNumbers();
  const want = (expected as Nested[]).flat(3) as number[];
  if (!name.endsWith('attn.c_attn.bias')) return expectAllClose(actual, want, PARAM_TOL);
  const d = actual.length / 3;
  const keys = (x: number[]) => x.slice(d, 2 * d);
  const rest = (x: number[]) => [...x.slice(0, d), ...x.slice(2 * d)];
  expectAllClose(rest(actual), rest(want), PARAM_TOL);
  expectAllClose(keys(actual), keys(want), { atol: 2 * lr, rtol: 0 });
}

const masked = (x: Tensor) => x.mul(tensor(golden.mask));

const CASES: [MethodName, Aggregation, Expected][] = [
  ['ppo_lag', 'token', golden.ppo_lag.token],
  ['ppo_lag', 'per-sequence', golden.ppo_lag['per-sequence']],
  ['ppo', 'token', golden.ppo.token],
  ['shaping', 'token', golden.shaping.token],
];

describe.each(CASES)("one %s step, lossAggregation '%s'", (name, aggregation, want) => {
  const { ctx, rollout, models, method } = setup(name, aggregation);
  const streams = Object.keys(want.values) as StreamName[];
  const { record, trace } = rlStep(ctx, rollout, 1, new Rng(0));

  it('rollout scoring: old and reference log-probs, reward and cost end scores, critic values, KL', () => {
    expectAllClose(rollout.oldLogProbs, want.oldLogProbs, TOL);
    expectAllClose(masked(trace.scores.refLogProbs), masked(tensor(want.refLogProbs as number[][])).toNumbers(), TOL);
    expectAllClose(trace.scores.reward, want.reward, TOL);
    if (method.usesCost) expectAllClose(trace.scores.cost as Tensor, want.cost, TOL);
    else expect(trace.scores.cost).toBeNull();
    expect(Object.keys(trace.scores.values).sort()).toEqual([...streams].sort());
    for (const s of streams) expectAllClose(trace.scores.values[s] as Tensor, want.values[s] as Nested, TOL);
    expectAllClose(trace.view.kl, want.kl, TOL);
  });
  it('KL-shaped token scores, GAE advantages and returns of each stream', () => {
    for (const s of streams) {
      expectAllClose(trace.streams.tokenScores[s] as Tensor, want.tokenScores[s] as Nested, TOL);
      expectAllClose(trace.streams.advantages[s] as Tensor, want.advantages[s] as Nested, TOL);
      expectAllClose(trace.streams.returns[s] as Tensor, want.returns[s] as Nested, TOL);
    }
  });
  it('constraint step (J_c, λ for PPO-Lagrangian), combined and whitened actor advantage', () => {
    if (want.lambda === null) expect(trace.constraint).toEqual({});
    else {
      expectAllClose(trace.constraint.jc as number, want.jc as number, TOL);
      expectAllClose(trace.constraint.lambda as number, want.lambda, TOL);
    }
    expectAllClose(trace.combinedAdvantages, want.combined, TOL);
    // Whitening divides by the advantages' standard deviation, which scales float32 rounding up.
    expectAllClose(trace.actorAdvantages, want.whitened, { atol: 1e-4, rtol: 1e-4 });
  });
  it('per mini-batch: PPO loss, clip fraction, actor and critic gradient norms before clipping, critic losses', () => {
    expect(trace.update.updates).toHaveLength(want.updates.length);
    trace.update.updates.forEach((u, i) => {
      const w = want.updates[i] as Expected['updates'][number];
      expectAllClose(u.actorLoss, w.actorLoss, TOL);
      expect(u.clipFraction).toBeCloseTo(w.clipFraction, 6);
      expectAllClose(u.actorGradNorm, w.actorGradNorm, TOL);
      for (const s of streams) {
        expectAllClose((u.critics[s] as { loss: number }).loss, (w.critics[s] as { loss: number }).loss, TOL);
        expectAllClose((u.critics[s] as { gradNorm: number }).gradNorm, (w.critics[s] as { gradNorm: number }).gradNorm, TOL);
      }
    });
    expect(want.updates[1]?.clipFraction, 'the second mini-batch exercises the clip').toBeGreaterThan(0);
  });
  it('log record', () => {
    expectAllClose([record.reward, record.kl, record.actorLoss, record.clipFraction], [want.log.reward, want.log.kl, want.log.actorLoss, want.log.clipFraction], TOL);
    if (method.usesCost) expectAllClose(record.cost as number, want.log.cost, TOL);
    expect(Object.keys(record.criticLoss).sort()).toEqual([...streams].sort());
    for (const s of streams) expectAllClose(record.criticLoss[s] as number, want.log.criticLoss[s] as number, TOL);
    expect(record.lambda).toBe(trace.constraint.lambda);
  });
  it('actor and critic parameters after the two clipped AdamW steps', () => {
    const actorParams = models.actor.namedParameters();
    expect([...actorParams.keys()].sort()).toEqual(Object.keys(want.actorAfter).sort());
    for (const [n, p] of actorParams) expectParamClose(n, p, want.actorAfter[n] as Nested, S.actorLr as number);
    for (const s of streams) {
      const params = (models.critics[s] as ScoreModel).namedParameters();
      expect([...params.keys()].sort()).toEqual(Object.keys(want.criticsAfter[s] as object).sort());
      for (const [n, p] of params) expectParamClose(n, p, (want.criticsAfter[s] as Record<string, Nested>)[n] as Nested, S.criticLr as number);
    }
  });
});
