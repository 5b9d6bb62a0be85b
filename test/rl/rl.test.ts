// RL maths against reference/golden/losses_rl.json (written by reference/losses_rl.py with PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { combineAdvantages, gae, klShapedScores, LagrangeMultiplier, RunningNormalizer, whitenAdvantages } from '../../src/rl/index.js';
import type { LagrangeRule } from '../../src/rl/lagrange.js';
import { tensor, type Tensor } from '../../src/torch/index.js';

type Nested = number | boolean | Nested[];
const g = JSON.parse(readFileSync('reference/golden/losses_rl.json', 'utf8')) as Record<string, Record<string, Nested>>;
const TOL = 1e-5;

function t(x: Nested): Tensor {
  return tensor(x as number[][]);
}
function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [Number(x)];
}
function expectClose(actual: Tensor | number[], expected: Nested, tol = TOL) {
  const a = Array.isArray(actual) ? actual : [...actual.toFloat64Array()];
  const e = flat(expected);
  expect(a.length).toBe(e.length);
  a.forEach((v, i) => expect(Math.abs(v - (e[i] as number))).toBeLessThanOrEqual(tol * (1 + Math.abs(e[i] as number))));
}

describe('KL shaping', () => {
  const c = g.klShaping as Record<string, Nested>;
  const args = [t(c.policyLogProbs as Nested).sub(t(c.refLogProbs as Nested)), t(c.mask as Nested)] as const;
  it('puts the clamped reward on the last response token and -β·KL on every token', () => {
    expectClose(klShapedScores(tensor(c.reward as number[]), ...args, -(c.beta as number), c.clip as number), c.rewards as Nested);
  });
  it('adds +β·KL to the cost stream', () => {
    expectClose(klShapedScores(tensor(c.cost as number[]), ...args, c.beta as number, c.clip as number), c.costs as Nested);
  });
});

describe('GAE', () => {
  const c = g.gae as Record<string, Nested>;
  for (const k of c.cases as unknown as Record<string, Nested>[]) {
    it(`matches the reference for γ=${k.gamma}, λ=${k.lambda}`, () => {
      const out = gae(t(c.rewards as Nested), t(c.values as Nested), t(c.mask as Nested), k.gamma as number, k.lambda as number);
      expectClose(out.advantages, k.advantages as Nested);
      expectClose(out.returns, k.returns as Nested);
    });
  }
});

describe('advantages', () => {
  const c = g.advantage as Record<string, Nested>;
  it('combines reward and cost advantages as (A_r - λA_c)/(1+λ)', () => {
    expectClose(combineAdvantages(t(c.rewardAdvantages as Nested), t(c.costAdvantages as Nested), c.lambda as number), c.combined as Nested);
  });
  it('stays finite for a huge or infinite λ (the cost advantage alone)', () => {
    const ar = t(c.rewardAdvantages as Nested);
    const ac = t(c.costAdvantages as Nested);
    expectClose(combineAdvantages(ar, ac, Infinity), ac.neg().toArray() as Nested);
    expect(combineAdvantages(ar, ac, 1e300).toNumbers().every(Number.isFinite)).toBe(true);
  });
  it('whitens over masked positions only', () => {
    expectClose(whitenAdvantages(t(c.rewardAdvantages as Nested), t(c.mask as Nested)), c.whitened as Nested, 1e-4);
  });
});

/** Replays a golden Lagrange trace: a multiplier with the trace's settings fed its episode batches; J_c checked at each step. */
function replayLagrange(c: Record<string, Nested>, rule: LagrangeRule) {
  const m = new LagrangeMultiplier({ threshold: c.threshold as number, init: 1, lr: c.lr as number, window: c.window as number, max: null, delaySteps: 0, rule });
  const trace = c.trace as unknown as Record<string, number>[];
  const steps = (c.batches as number[][]).map((batch, i) => {
    const out = m.update(batch);
    const ref = trace[i] as Record<string, number>;
    expect(out.jc).toBeCloseTo(ref.jc as number, 12);
    return { out, ref };
  });
  return { m, trace, steps };
}

describe('Lagrange multiplier', () => {
  it('follows torch SGD on -(J_c - d)·exp(log λ) over a moving window', () => {
    const { trace, steps } = replayLagrange(g.lagrange as Record<string, Nested>, 'safe-rlhf');
    for (const { out, ref } of steps) expect(out.lambda).toBeCloseTo(ref.lambda as number, 12);
    // λ rose while J_c > d and fell once J_c < d.
    const lambdas = trace.map((s) => s.lambda as number);
    expect(lambdas[2]).toBeGreaterThan(lambdas[0] as number);
    expect(lambdas[6]).toBeLessThan(lambdas[3] as number);
  });

  it("follows torch SGD on -(J_c - d)·log λ under the 'multiplicative' rule: bounded steps, no jump or collapse", () => {
    const c = g.lagrangeMultiplicative as Record<string, Nested>;
    const { m, trace, steps } = replayLagrange(c, 'multiplicative');
    steps.forEach(({ out, ref }, i) => {
      expect(Math.log(out.lambda)).toBeCloseTo(ref.logLambda as number, 12);
      // Each step moves log λ by exactly lr·(J_c - d), whatever λ is.
      const prev = i === 0 ? 0 : (trace[i - 1]?.logLambda as number);
      expect((ref.logLambda as number) - prev).toBeCloseTo((c.lr as number) * (out.jc - (c.threshold as number)), 10);
    });
    // The same costs under the safe-rlhf rule blow λ up to the numerical guard.
    const s = new LagrangeMultiplier({ threshold: 0, init: 1, lr: 0.1, window: 4, max: null, delaySteps: 0, rule: 'safe-rlhf' });
    for (const batch of c.batches as number[][]) s.update(batch);
    expect(Math.abs(Math.log(s.lambda))).toBe(30);
    expect(Math.abs(Math.log(m.lambda))).toBeLessThan(30);
  });

  it('keeps log λ finite however large the violation', () => {
    const m = new LagrangeMultiplier({ threshold: 0, init: 1, lr: 0.5, window: 4, max: null, delaySteps: 0, rule: 'safe-rlhf' });
    for (let i = 0; i < 20; i++) m.update([1e6]);
    expect(m.lambda).toBeCloseTo(Math.exp(30), -10);
    for (let i = 0; i < 20; i++) m.update([-1e6]);
    expect(Number.isFinite(m.lambda)).toBe(true);
    expect(m.lambda).toBeLessThan(1);
  });
  it('respects λ_max and delay steps, and resumes from its state', () => {
    const c = g.lagrangeMax as Record<string, Nested>;
    const m = new LagrangeMultiplier({ threshold: 0, init: 1, lr: c.lr as number, window: 128, max: c.lambdaMax as number, delaySteps: 0, rule: 'safe-rlhf' });
    (c.costs as number[]).forEach((cost, i) => expect(m.update([cost]).lambda).toBeCloseTo((c.lambdas as number[])[i] as number, 12));
    const delayed = new LagrangeMultiplier({ threshold: 0, init: 1, lr: 0.1, window: 4, max: null, delaySteps: 2, rule: 'multiplicative' });
    expect(delayed.update([5]).lambda).toBe(1);
    expect(delayed.update([5]).lambda).toBe(1);
    expect(delayed.update([5]).lambda).toBeGreaterThan(1);
    const copy = new LagrangeMultiplier(delayed.config);
    copy.loadStateDict(delayed.stateDict());
    expect(copy.update([-1]).lambda).toBe(delayed.update([-1]).lambda);
  });
});

describe('running normaliser', () => {
  const xs = [3, -1, 4, 1, -5, 9, 2, 6];
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  it('merges batches into the exact mean and std', () => {
    const n = new RunningNormalizer('affine');
    n.update(xs.slice(0, 3));
    n.update(xs.slice(3));
    expect(n.mean).toBeCloseTo(mean, 12);
    expect(n.std).toBeCloseTo(std, 12);
    expect(n.normalize(mean + std)).toBeCloseTo(1, 6);
  });
  it('scale-only normalisation keeps the sign of costs; clipping bounds the output', () => {
    const n = new RunningNormalizer('scale', 1.5);
    n.update(xs);
    expect(n.normalize(-0.5)).toBeLessThan(0);
    expect(n.normalize(0.5)).toBeCloseTo(0.5 / std, 6);
    expect(n.normalize(100)).toBe(1.5);
    expect(new RunningNormalizer('none').normalize(7)).toBe(7);
  });
});
