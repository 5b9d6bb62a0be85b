// PPO's entropy bonus (rl.entropyCoef) through the real loop on the one-token constrained bandit, against its closed-form optimum.
//
// The task is constrained-bandit.test.ts's (comply R 2, help R 1, refuse R 0, others R -1; the cost is not used).
// With one response token, PPO's reward R − β·kl and the bonus α·H(π) make the expected update the gradient of
// E_π[R] − β·KL(π‖π_ref) + α·H(π) (the KL through the score function, H exactly from the logits). Its maximiser:
//   π(a) ∝ exp((R(a) + β·log π_ref(a)) / (β + α)) = π_ref(a)^(β/(β+α)) · exp(R(a)/(β+α)),
// PPO's optimum π_ref·exp(R/β) at α = 0, flatter as α grows. Advantage whitening is off here: it rescales the
// policy-gradient term but not the bonus, which would move this fixed point.
// Sign error this test catches (scripts/sign-flips.py): the bonus added as a penalty (the policy then sharpens
// past PPO's optimum instead of staying spread).
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ppoMethod } from '../../src/algorithms/ppo/method.js';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { BANDIT_BETA as BETA, BANDIT_RL, formatPi, runBandit, tilt, totalVariation, useSafeRlhfBandit } from '../helpers/bandit.js';

const ALPHA = 0.5;
const RL: z.input<typeof RlConfigSchema> = { ...BANDIT_RL, promptsPerStep: 64, criticOptim: { lr: 1e-2 }, whitenAdvantages: false, actorOptim: { lr: 1e-2, schedule: 'linear' } };
/** Measured on seeds 0-3 (the learning rate decays linearly to damp the last steps' noise): TV to the closed form ≤ 0.024. */
const TV_TOL = 0.06;
const SEED = 0;

const bandit = useSafeRlhfBandit();
const entropy = (p: readonly number[]) => -p.reduce((s, x) => s + (x > 0 ? x * Math.log(x) : 0), 0);

describe('entropy bonus on the one-token bandit', () => {
  it('is off by default', () => {
    expect(RlConfigSchema.parse({}).entropyCoef).toBe(0);
  });
  it(`α = ${ALPHA}: π ∝ π_ref^(β/(β+α))·exp(R/(β+α)), more spread than PPO's optimum; the log carries the entropy`, () => {
    const { piRef, reward } = bandit.task;
    const want = tilt(piRef.map((p) => p ** (BETA / (BETA + ALPHA))), reward, BETA + ALPHA);
    const ppo = tilt(piRef, reward, BETA);
    const { pi, log } = runBandit(bandit.task, ppoMethod({ klCoef: BETA, scoreClip: 50 }), { ...RL, entropyCoef: ALPHA }, SEED);
    expect(totalVariation(pi, want), `trained ${formatPi(pi)}\noptimum ${formatPi(want)}`).toBeLessThan(TV_TOL);
    expect(entropy(want)).toBeGreaterThan(entropy(ppo) + 0.3);
    expect(entropy(pi)).toBeGreaterThan(entropy(ppo) + 0.2);
    // the logged entropy is the actor's at the last update (one step before `pi`)
    expect(Math.abs((log.at(-1)?.entropy as number) - entropy(pi))).toBeLessThan(0.05);
  });
});
