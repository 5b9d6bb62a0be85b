// P3O (Pairwise PPO) through the real loop on the one-token constrained bandit, against its closed-form optimum.
//
// The task is constrained-bandit.test.ts's (comply R 2, help R 1, refuse R 0, others R -1; the cost is not used).
// Each step draws 32 prompts × 2 samples (64 rows, as the PPO tests' 64), one update per step, no critic.
// Fixed point: with the KL folded into the reward (r̃ = R − β·(log π_old − log π_ref)), the pair's difference
// r̃_1 − r̃_2 is an unbiased baseline (the leave-one-out advantage of G = 2), so on-policy P3O's expected update is
// the gradient of E_π[R] − β·KL(π‖π_ref): its zero is π ∝ π_ref·exp(R/β), PPO's optimum.
// Sign errors these tests catch (scripts/sign-flips.py): the pair difference inverted, the clip min/max swapped,
// the KL folded in as a bonus, the joint ratio inverted.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { P3oSchema } from '../../src/algorithms/p3o/config.js';
import { p3oMethod } from '../../src/algorithms/p3o/method.js';
import type { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { criticStreams } from '../../src/algorithms/rl/method.js';
import { argmax, BANDIT_BETA as BETA, BANDIT_RL, formatPi, runBandit, tilt, totalVariation, useSafeRlhfBandit } from '../helpers/bandit.js';

const RL: z.input<typeof RlConfigSchema> = { ...BANDIT_RL, promptsPerStep: 32, samplesPerPrompt: 2 };
/** Measured on seeds 0-3: TV to π_ref·exp(R/β) ≤ 0.007 (separate, on-policy), ≤ 0.036 (joint, two epochs). */
const TV_TOL = 0.06;
const SEED = 0;

const bandit = useSafeRlhfBandit();
const p3o = (clip: 'separate' | 'joint') => p3oMethod({ ...P3oSchema.parse({ klCoef: BETA, clip }), scoreClip: 50 });

describe('P3O on the one-token bandit', () => {
  // 'joint' runs two epochs over two mini-batches of 16 pairs, so that its ratios leave 1 and the clip acts.
  for (const [clip, rl] of [['separate', RL], ['joint', { ...RL, ppoEpochs: 2, miniBatchSize: 32, actorOptim: { lr: 5e-3 } }]] as const) {
    it(`${clip} clipping: π ≈ π_ref·exp(R/β), most mass on comply, reward up`, () => {
      const want = tilt(bandit.task.piRef, bandit.task.reward, BETA);
      const { pi, log } = runBandit(bandit.task, p3o(clip), rl, SEED);
      expect(totalVariation(pi, want), `trained ${formatPi(pi)}\noptimum ${formatPi(want)}`).toBeLessThan(TV_TOL);
      expect(argmax(pi)).toBe(bandit.task.ids.comply);
      expect((log.at(-1) as { reward: number }).reward).toBeGreaterThan((log[0] as { reward: number }).reward + 0.5);
      expect(log[0]?.criticLoss).toEqual({});
      if (clip === 'joint') expect(Math.max(...log.map((r) => r.clipFraction))).toBeGreaterThan(0);
    });
  }
  it('has no critic and refuses any G but 2 or an odd mini-batch', () => {
    expect(criticStreams(p3o('joint'))).toEqual([]);
    expect(() => runBandit(bandit.task, p3o('joint'), { ...RL, steps: 1, samplesPerPrompt: 4 }, SEED)).toThrow(/rl.samplesPerPrompt \(--rl-samples-per-prompt\) to 2 \(got 4\)/);
    expect(() => runBandit(bandit.task, p3o('joint'), { ...RL, steps: 1, miniBatchSize: 7 }, SEED)).toThrow(/rl.miniBatchSize \(--rl-mini-batch-size\) to a multiple of 2/);
  });
});
