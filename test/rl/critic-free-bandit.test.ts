// The critic-free methods (GRPO, multi-objective GRPO, safe GRPO, RLOO-Lagrangian) through the real loop on the one-token constrained bandit, against their fixed points.
//
// The task is constrained-bandit.test.ts's (comply R 2 C +1, help R 1 C -1, refuse R 0 C -2, others R -1 C 0).
// Each step draws 8 prompts × G = 8 samples (64 rows, as the PPO tests' 64), one update per step, no critic.
// Fixed points (derivations in test/helpers/bandit.ts):
//   RLOO-Lagrangian: the leave-one-out baseline is unbiased and the KL sits in the scores as in PPO-Lag, so its
//     fixed point is PPO-Lag's: π_λ ∝ π_ref·exp((R - λC)/((1+λ)β)), λ* with E_{π_λ*}[C] = d.
//   GRPO with scaleRewards 'none' and β·k3 in the loss: the group mean includes the sample itself (a factor
//     c = 1 - 1/G on the advantage) and k3's gradient is that of KL(π_ref‖π), so
//     π(a) = β·π_ref(a) / (β - c·(S(a) - E_π[S])), S = R (grpo), R - w·C (multi-objective), (R - λC)/(1+λ) (safe).
//   With 'group' scaling (the default) the std of each group rescales the advantage, which moves the fixed point
//     by an amount with no closed form; those runs are checked for where the mass goes and for E_π[C] <= d.
// Sign errors these tests catch (scripts/sign-flips.py): the group or leave-one-out baseline inverted, the k3 term
// rewarding distance, GRPO's cost weight added instead of subtracted, safe GRPO's cost negated, A_r + λ·A_c.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { GrpoSchema } from '../../src/algorithms/grpo/config.js';
import { grpoMethod, safeGrpoMethod } from '../../src/algorithms/grpo/method.js';
import { rlooLagMethod } from '../../src/algorithms/rloo-lag/method.js';
import type { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { criticStreams } from '../../src/algorithms/rl/method.js';
import {
  argmax,
  BANDIT_BETA as BETA,
  BANDIT_D as D,
  BANDIT_LAGRANGE as LAGRANGE,
  BANDIT_RL,
  banditOptima,
  dualOptimum,
  expectation,
  formatPi,
  grpoFixedPoint,
  lagrangianPolicy,
  runBandit,
  safeGrpoPolicy,
  tailMean,
  totalVariation,
  useSafeRlhfBandit,
} from '../helpers/bandit.js';
import { expectAllClose } from '../helpers/allclose.js';

const G = 8;
const W = 2;
const RL: z.input<typeof RlConfigSchema> = { ...BANDIT_RL, promptsPerStep: 8, samplesPerPrompt: G };
/**
 * Measured on seeds 0-3: TV to the fixed point ≤ 0.029 (GRPO), ≤ 0.030 (multi-objective), ≤ 0.045 (safe GRPO),
 * ≤ 0.043 (RLOO-Lag); safe GRPO with group scaling E_π[C] in [-0.01, 0.12], help ≥ 0.175.
 */
const TV_TOL = 0.06;
const SEED = 0;

const bandit = useSafeRlhfBandit();

describe('critic-free methods: the closed forms', () => {
  // reference/bandit_optima.py finds the zeros of the loop's expected GRPO update numerically (Newton on the logits, float64).
  const g = banditOptima();
  it("GRPO, multi-objective GRPO and safe GRPO (scaleRewards 'none') match PyTorch's numerical fixed points", () => {
    expect(g.maxGrpoStep).toBeLessThan(1e-12);
    expectAllClose(grpoFixedPoint(g.piRef, g.reward, g.beta, g.groupSize), g.grpo, { atol: 1e-9, rtol: 1e-7 });
    const weighted = g.reward.map((r, a) => r - g.nu * (g.cost[a] as number));
    expectAllClose(grpoFixedPoint(g.piRef, weighted, g.beta, g.groupSize), g.grpoCostWeighted, { atol: 1e-9, rtol: 1e-7 });
    const policy = (lambda: number) => safeGrpoPolicy(g.piRef, g.reward, g.cost, g.beta, lambda, g.groupSize);
    const lambda = dualOptimum(g.piRef, g.reward, g.cost, g.beta, g.threshold, policy);
    expect(lambda).toBeCloseTo(g.safeGrpoLambda, 7);
    expectAllClose(policy(lambda), g.safeGrpo, { atol: 1e-8, rtol: 1e-6 });
  });
});

describe('critic-free methods: no critics', () => {
  it('GRPO, safe GRPO and RLOO-Lag declare no critic streams and log no critic loss', () => {
    const methods = [
      grpoMethod({ ...GrpoSchema.parse({ klCoef: BETA, costWeight: 0, scaleRewards: 'group' }), scoreClip: 50 }),
      safeGrpoMethod({ klCoef: BETA, scaleRewards: 'group', scoreClip: 50, lagrange: LAGRANGE }),
      rlooLagMethod({ klCoef: BETA, scoreClip: 50, lagrange: LAGRANGE }),
    ];
    for (const m of methods) expect(criticStreams(m)).toEqual([]);
    const { log } = runBandit(bandit.task, methods[0] as NonNullable<(typeof methods)[0]>, { ...RL, steps: 1 }, SEED);
    expect(log[0]?.criticLoss).toEqual({});
  });
  it('refuse to run with one sample per prompt', () => {
    expect(() => runBandit(bandit.task, grpoMethod({ ...GrpoSchema.parse({ klCoef: BETA, costWeight: 0, scaleRewards: 'group' }), scoreClip: 50 }), { ...RL, samplesPerPrompt: 1 }, SEED)).toThrow(/samplesPerPrompt \(--rl-samples-per-prompt\) to 2 or more/);
  });
});

describe('critic-free methods reach their fixed points on the one-token bandit', () => {
  it("GRPO (scaleRewards 'none', β·k3): π = β·π_ref/(β − c·(R − E_π R)), most mass on comply", () => {
    const want = grpoFixedPoint(bandit.task.piRef, bandit.task.reward, BETA, G);
    const { pi, log } = runBandit(bandit.task, grpoMethod({ ...GrpoSchema.parse({ klCoef: BETA, costWeight: 0, scaleRewards: 'none' }), scoreClip: 50 }), RL, SEED);
    expect(totalVariation(pi, want), `trained ${formatPi(pi)}\nfixed point ${formatPi(want)}`).toBeLessThan(TV_TOL);
    expect(argmax(pi)).toBe(bandit.task.ids.comply);
    expect((log.at(-1) as { reward: number }).reward).toBeGreaterThan((log[0] as { reward: number }).reward + 0.5);
  });

  it(`multi-objective GRPO (reward R − ${W}·C, scaleRewards 'none'): the fixed point of R − ${W}C, most mass on refuse`, () => {
    const score = bandit.task.reward.map((r, a) => r - W * (bandit.task.cost[a] as number));
    const want = grpoFixedPoint(bandit.task.piRef, score, BETA, G);
    const { pi } = runBandit(bandit.task, grpoMethod({ ...GrpoSchema.parse({ klCoef: BETA, costWeight: W, scaleRewards: 'none' }), scoreClip: 50 }), RL, SEED);
    expect(totalVariation(pi, want), `trained ${formatPi(pi)}\nfixed point ${formatPi(want)}`).toBeLessThan(TV_TOL);
    expect(argmax(pi)).toBe(bandit.task.ids.refuse);
  });

  it("GRPO (scaleRewards 'group', the default): climbs to the most rewarded action", () => {
    const { pi } = runBandit(bandit.task, grpoMethod({ ...GrpoSchema.parse({ klCoef: BETA, costWeight: 0, scaleRewards: 'group' }), scoreClip: 50 }), RL, SEED);
    expect(argmax(pi), formatPi(pi)).toBe(bandit.task.ids.comply);
    expect(pi[bandit.task.ids.comply as number]).toBeGreaterThan(0.6);
  });

  it("safe GRPO (scaleRewards 'none'): π ≈ its fixed point at λ*, λ ≈ λ*, E_π[C] ≈ d", () => {
    const policy = (lambda: number) => safeGrpoPolicy(bandit.task.piRef, bandit.task.reward, bandit.task.cost, BETA, lambda, G);
    const lambdaStar = dualOptimum(bandit.task.piRef, bandit.task.reward, bandit.task.cost, BETA, D, policy);
    const want = policy(lambdaStar);
    const { pi, log } = runBandit(bandit.task, safeGrpoMethod({ klCoef: BETA, scaleRewards: 'none', scoreClip: 50, lagrange: LAGRANGE }), RL, SEED);
    expect(totalVariation(pi, want), `trained ${formatPi(pi)}\nfixed point ${formatPi(want)} (λ* ${lambdaStar})`).toBeLessThan(TV_TOL);
    const lambda = tailMean(log, 'lambda');
    expect(Math.abs(lambda - lambdaStar), `mean λ of the last steps ${lambda}, λ* ${lambdaStar}`).toBeLessThan(0.25 * lambdaStar);
    expect(Math.abs(expectation(pi, bandit.task.cost) - D), `E_π[C] = ${expectation(pi, bandit.task.cost)}`).toBeLessThan(0.15);
  });

  it("safe GRPO (scaleRewards 'group'): E_π[C] ≈ d where GRPO's optimum violates it; comply and help mixed", () => {
    const { pi } = runBandit(bandit.task, safeGrpoMethod({ klCoef: BETA, scaleRewards: 'group', scoreClip: 50, lagrange: LAGRANGE }), RL, SEED);
    expect(expectation(grpoFixedPoint(bandit.task.piRef, bandit.task.reward, BETA, G), bandit.task.cost)).toBeGreaterThan(D + 0.3);
    expect(Math.abs(expectation(pi, bandit.task.cost) - D), `E_π[C] = ${expectation(pi, bandit.task.cost)}; π ${formatPi(pi)}`).toBeLessThan(0.15);
    expect(pi[bandit.task.ids.help as number], formatPi(pi)).toBeGreaterThan(0.1);
    expect(pi[bandit.task.ids.comply as number], formatPi(pi)).toBeGreaterThan(0.2);
  });

  it('RLOO-Lagrangian: π ≈ PPO-Lagrangian\'s π_λ*, λ ≈ λ*, E_π[C] ≈ d', () => {
    const lambdaStar = dualOptimum(bandit.task.piRef, bandit.task.reward, bandit.task.cost, BETA, D);
    const want = lagrangianPolicy(bandit.task.piRef, bandit.task.reward, bandit.task.cost, BETA, lambdaStar);
    const { pi, log } = runBandit(bandit.task, rlooLagMethod({ klCoef: BETA, scoreClip: 50, lagrange: LAGRANGE }), RL, SEED);
    expect(totalVariation(pi, want), `trained ${formatPi(pi)}\noptimum ${formatPi(want)} (λ* ${lambdaStar})`).toBeLessThan(TV_TOL);
    const lambda = tailMean(log, 'lambda');
    expect(Math.abs(lambda - lambdaStar), `mean λ of the last steps ${lambda}, λ* ${lambdaStar}`).toBeLessThan(0.25 * lambdaStar);
    expect(Math.abs(expectation(pi, bandit.task.cost) - D), `E_π[C] = ${expectation(pi, bandit.task.cost)}`).toBeLessThan(0.15);
  });
});
