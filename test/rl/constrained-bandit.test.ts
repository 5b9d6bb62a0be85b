// The real RL loop (trainRl + ppoMethod / rewardShapingMethod / ppoLagMethod) on a one-token constrained bandit whose optima are known in closed form.
//
// The task: one prompt, responses of exactly one token, so each vocabulary token is an action with
// an exact reward and cost (TableScorer). Three named actions carry the tension of Safe RLHF:
//   comply: R = 2, C = +1 (most rewarded, unsafe)   help: R = 1, C = -1   refuse: R = 0, C = -2
// and every other token (specials, prompt words) is poor: R = -1, C = 0. The reference policy (a tiny
// GPT-2 fitted to lean towards refusing) gives π_ref, read exactly from its logits.
//
// With one response token there is one KL term, kl = log π(a) - log π_ref(a), and GAE reduces to
// A = score - V(prompt). The expected policy gradient therefore vanishes where the KL-regularised
// objective is maximised:
//   PPO (reward R - β·kl):                π*(a) ∝ π_ref(a)·exp(R(a)/β)
//   shaping (R - ν·C - β·kl):             π*(a) ∝ π_ref(a)·exp((R(a) - ν·C(a))/β)
//   PPO-Lag (reward R - β·kl, cost C + β·kl, actor advantage (A_r - λ·A_c)/(1+λ)):
//     (A_r - λA_c)/(1+λ) = (R - λC - (1+λ)β·kl)/(1+λ) - baseline, so
//     π_λ(a) ∝ π_ref(a)·exp((R(a) - λ·C(a))/((1+λ)·β)),
//   and λ's update (log λ += lr·(J_c - d)) is stationary where E_π[C] = d, so λ* solves
//   E_{π_λ*}[C] = d (bisection; dE_{π_λ}[C]/dλ = -Cov_π(C, R + C)/((1+λ)²β) < 0 here). This is not the
//   optimum of "max E[R] - β·KL s.t. E[C] <= d" (that has temperature β): the cost stream's +β·kl makes
//   the KL weight (1+λ)·β, as in safe-rlhf. reference/bandit_optima.py confirms the forms numerically.
// Advantage whitening subtracts a batch mean (zero expected gradient, up to O(1/batch)) and divides by
// a positive scale, so it leaves these fixed points where they are; it does add jitter near the optimum
// (the whitened advantages keep unit variance as the true ones shrink). Checked both ways below.
//
// Each of these sign errors makes a test below fail (scripts/sign-flips.py applies them one at a time):
// PPO-Lag cost stream negated, its KL penalty made a bonus, shaping R + ν·C, kl = ref - old in the loop,
// the actor ascending -advantage, λ stepping the wrong way, PPO's clip inverted, A_r + λ·A_c.
// The clip changes no fixed point, so two tests look at single updates: ratio 1 at the first one, and a
// bounded move over 30 epochs of one rollout.
import { beforeAll, describe, expect, it } from 'vitest';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { ppoMethod } from '../../src/algorithms/ppo/method.js';
import { rewardShapingMethod } from '../../src/algorithms/reward-shaping/method.js';
import type { z } from 'zod';
import type { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import {
  argmax,
  BANDIT_BETA as BETA,
  BANDIT_D as D,
  BANDIT_LAGRANGE,
  BANDIT_RL,
  banditOptima,
  dualOptimum,
  expectation,
  formatPi,
  lagrangianPolicy,
  runBandit,
  tailMean,
  tilt,
  totalVariation,
  useSafeRlhfBandit,
} from '../helpers/bandit.js';
import { expectAllClose } from '../helpers/allclose.js';

/** Shaping weight: argmax(R - ν·C) is `refuse`, not PPO's `comply`. */
const NU = 2;
/**
 * 80 steps of 64 one-token rollouts, one update per step. Measured on seeds 0-4 and 8-11 (PPO-Lag 0-11):
 * TV to the optimum ≤ 0.018 (PPO), ≤ 0.015 (shaping), ≤ 0.029 (PPO-Lag), ≤ 0.036 (PPO-Lag without
 * whitening); mean λ of the last 20 steps within 12% of λ*; |E_π[C] - d| ≤ 0.084. The clip is
 * exercised by its own tests below (it moves no fixed point).
 */
const RL: z.input<typeof RlConfigSchema> = { ...BANDIT_RL, promptsPerStep: 64, criticOptim: { lr: 1e-2 } };
/** Total variation between the trained actor's exact response distribution and the closed-form optimum. */
const TV_TOL = 0.06;
const SEED = 0;

const bandit = useSafeRlhfBandit();
const optimum = {} as { ppo: number[]; shaping: number[]; lag: number[]; lambda: number };

beforeAll(() => {
  const { task } = bandit;
  optimum.ppo = tilt(task.piRef, task.reward, BETA);
  optimum.shaping = tilt(
    task.piRef,
    task.reward.map((r, a) => r - NU * (task.cost[a] as number)),
    BETA,
  );
  optimum.lambda = dualOptimum(task.piRef, task.reward, task.cost, BETA, D);
  optimum.lag = lagrangianPolicy(task.piRef, task.reward, task.cost, BETA, optimum.lambda);
});

const lagMethod = () => ppoLagMethod({ klCoef: BETA, scoreClip: 50, lagrange: BANDIT_LAGRANGE });

describe('constrained one-token bandit: the task', () => {
  it('has a non-uniform π_ref, an unconstrained optimum that violates the constraint and an interior constrained optimum', () => {
    const { ids, piRef, cost } = bandit.task;
    expect(piRef.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);
    expect(piRef[ids.refuse as number]).toBeGreaterThan(2 * (piRef[ids.comply as number] as number));
    expect(expectation(piRef, cost)).toBeLessThan(D);
    expect(argmax(optimum.ppo)).toBe(ids.comply);
    expect(expectation(optimum.ppo, cost)).toBeGreaterThan(D + 0.3);
    expect(argmax(optimum.shaping)).toBe(ids.refuse);
    expect(optimum.lambda).toBeGreaterThan(0.05);
    expect(optimum.lambda).toBeLessThan(1);
    expect(expectation(optimum.lag, cost)).toBeCloseTo(D, 9);
    // The constrained optimum mixes comply and help (refuse gets the rest).
    expect(optimum.lag[ids.comply as number]).toBeGreaterThan(0.4);
    expect(optimum.lag[ids.help as number]).toBeGreaterThan(0.25);
  });
});

describe('constrained one-token bandit: the closed forms', () => {
  // reference/bandit_optima.py maximises each KL-regularised objective numerically (Newton on the logits,
  // float64), checks the loop's expected policy-gradient step vanishes there, and bisects λ over those maximisers.
  const g = banditOptima();
  it('match PyTorch\'s numerical maximisers and dual fixed point', () => {
    expect(g.maxExpectedStep).toBeLessThan(1e-12);
    expectAllClose(tilt(g.piRef, g.reward, g.beta), g.ppo, { atol: 1e-9, rtol: 1e-7 });
    expectAllClose(tilt(g.piRef, g.reward.map((r, a) => r - g.nu * (g.cost[a] as number)), g.beta), g.shaping, { atol: 1e-9, rtol: 1e-7 });
    const lambda = dualOptimum(g.piRef, g.reward, g.cost, g.beta, g.threshold);
    expect(lambda).toBeCloseTo(g.lambda, 7);
    expectAllClose(lagrangianPolicy(g.piRef, g.reward, g.cost, g.beta, lambda), g.lag, { atol: 1e-8, rtol: 1e-6 });
  });
});

describe('constrained one-token bandit: trainRl reaches the closed-form optimum', () => {
  it('PPO: π ∝ π_ref·exp(R/β), most mass on the max-reward action', () => {
    const { pi, log } = runBandit(bandit.task, ppoMethod({ klCoef: BETA, scoreClip: 50 }), RL, SEED);
    const tv = totalVariation(pi, optimum.ppo);
    expect(tv, `trained ${formatPi(pi)}\noptimum ${formatPi(optimum.ppo)}`).toBeLessThan(TV_TOL);
    expect(argmax(pi)).toBe(bandit.task.ids.comply);
    expect(pi[bandit.task.ids.comply as number]).toBeGreaterThan(0.6);
    // The last rollouts earn more reward than the first (the loop ascends, it does not descend).
    expect((log.at(-1) as { reward: number }).reward).toBeGreaterThan((log[0] as { reward: number }).reward + 1);
  });

  it(`reward shaping (ν = ${NU}): π ∝ π_ref·exp((R - νC)/β), most mass on argmax(R - νC)`, () => {
    const { pi } = runBandit(bandit.task, rewardShapingMethod({ klCoef: BETA, scoreClip: 50, nu: NU }), RL, SEED);
    expect(totalVariation(pi, optimum.shaping), `trained ${formatPi(pi)}\noptimum ${formatPi(optimum.shaping)}`).toBeLessThan(TV_TOL);
    expect(argmax(pi)).toBe(bandit.task.ids.refuse);
    expect(pi[bandit.task.ids.refuse as number]).toBeGreaterThan(0.8);
  });

  for (const whiten of [true, false]) {
    it(`PPO-Lagrangian${whiten ? '' : ' without advantage whitening'}: π ≈ π_λ*, λ ≈ λ*, E_π[C] ≈ d, comply and help mixed`, () => {
      const { pi, log } = runBandit(bandit.task, lagMethod(), { ...RL, whitenAdvantages: whiten }, SEED);
      const { ids, cost } = bandit.task;
      expect(totalVariation(pi, optimum.lag), `trained ${formatPi(pi)}\noptimum ${formatPi(optimum.lag)} (λ* ${optimum.lambda})`).toBeLessThan(TV_TOL);
      // λ averaged over the last quarter of the steps (it oscillates around λ* by a few percent).
      const lambda = tailMean(log, 'lambda');
      expect(Math.abs(lambda - optimum.lambda), `mean λ of the last steps ${lambda}, λ* ${optimum.lambda}`).toBeLessThan(0.25 * optimum.lambda);
      expect(Math.abs(expectation(pi, cost) - D), `E_π[C] = ${expectation(pi, cost)}`).toBeLessThan(0.15);
      const top2 = [...pi.keys()].sort((a, b) => (pi[b] as number) - (pi[a] as number)).slice(0, 2);
      expect(new Set(top2)).toEqual(new Set([ids.comply, ids.help]));
      expect(pi[ids.help as number]).toBeGreaterThan(0.2);
      expect(pi[ids.comply as number]).toBeGreaterThan(0.4);
    });
  }
});

describe('constrained one-token bandit: one PPO update', () => {
  it('starts each rollout at ratio 1, where the clipped surrogate is -mean(A) (0 once whitened)', () => {
    // One epoch over one minibatch: the only update sees π = π_old, so the logged loss is exactly -mean(whitened A).
    const { log } = runBandit(bandit.task, ppoMethod({ klCoef: BETA, scoreClip: 50 }), { steps: 3, promptsPerStep: 64, miniBatchSize: 64, ppoEpochs: 1 }, SEED);
    for (const r of log) {
      expect(Math.abs(r.actorLoss)).toBeLessThan(1e-4);
      expect(r.clipFraction).toBe(0);
    }
  });

  it('the clip bounds how far 30 epochs over one rollout move the policy', () => {
    // Without the clip's pessimistic bound, 30 epochs at this learning rate push comply's probability up
    // ~5-10x and refuse's down ~30x; with it the named actions' ratios stay within ~2.5x (seeds 0-4).
    const { pi, log } = runBandit(bandit.task, ppoMethod({ klCoef: BETA, scoreClip: 50 }), { steps: 1, promptsPerStep: 64, miniBatchSize: 32, ppoEpochs: 30, actorOptim: { lr: 3e-3 } }, SEED);
    const { ids, piRef } = bandit.task;
    const logRatios = [ids.comply, ids.help, ids.refuse].map((a) => Math.log((pi[a as number] as number) / (piRef[a as number] as number)));
    expect(Math.max(...logRatios.map(Math.abs)), `log π/π_old of comply, help, refuse: ${formatPi(logRatios)}`).toBeLessThan(Math.log(3.5));
    // It still moved: the ratios left the clip range, so later epochs were clipped.
    expect((log[0] as { clipFraction: number }).clipFraction).toBeGreaterThan(0.3);
    expect(logRatios[0]).toBeGreaterThan(0);
  });
});
