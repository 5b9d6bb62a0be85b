// Per-category λ (lagrange.perCategory) through the real loop on a two-prompt one-token bandit: a rare risky category whose
// budget binds and a common benign one whose budget does not, against their closed-form constrained optima.
//
// Prompt 'answer' (category 'violence', 1 in 4 draws) has the Safe RLHF tables of constrained-bandit.test.ts:
//   comply R 2, C +1   help R 1, C -1   refuse R 0, C -2   others R -1, C 0;
// prompt 'chat' (no category, 3 in 4 draws) has the same rewards, but complying is safe there: comply C -1.5; its π_ref
// leans towards complying (the actor then starts out telling the two prompts apart, as a trained SFT model would).
// With d = 0 each prompt k has PPO-Lagrangian's fixed point π_k ∝ π_ref,k·exp((R_k − λ·C_k)/((1+λ)β)) for the λ its rows use.
//   Per category: λ_violence → λ*_violence with E_{π_violence}[C] = d (binding), λ_'' → 0 (chat's unconstrained optimum
//   has E[C] ≈ -1.4 < d), so each prompt reaches its own constrained optimum.
//   One global λ: J_c mixes both, ¼·E_violence[C] + ¾·E_chat[C] < d already at λ = 0, so λ → 0 and the rare category
//   ends at PPO's unconstrained optimum with E[C] ≈ +0.4 > d: the common category's slack hides its violation.
// Sign errors this test catches (scripts/sign-flips.py): a category's λ stepping the wrong way, rows combined with
// another category's λ.
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import type { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { setNumThreads } from '../../src/torch/index.js';
import {
  BANDIT_BETA as BETA,
  BANDIT_D as D,
  BANDIT_LAGRANGE,
  BANDIT_RL,
  dualOptimum,
  expectation,
  formatPi,
  lagrangianPolicy,
  responseDistribution,
  runBandit,
  SAFE_RLHF_BANDIT,
  tailMean,
  tilt,
  totalVariation,
} from '../helpers/bandit.js';
import { buildCategoryBandit, type CategoryArm, type CategoryBanditTask } from '../helpers/category-bandit.js';

/**
 * 120 steps of 64 rows (16 of them risky). Measured on seeds 0-3: per category, TV to the optimum ≤ 0.023 (violence)
 * and ≤ 0.020 (chat), the last quarter's mean λ_violence within 6% of λ*, |E[C_violence] − d| ≤ 0.055; one global λ:
 * TV of 'answer' to its unconstrained optimum ≤ 0.038, λ ≤ 1e-5, E[C_violence] ≥ 0.40. (80 steps leave seed 1 at TV 0.066.)
 */
const RL: z.input<typeof RlConfigSchema> = { ...BANDIT_RL, steps: 120, promptsPerStep: 64, criticOptim: { lr: 1e-2 } };
const TV_TOL = 0.06;
const SEED = 0;
const { actions, others } = SAFE_RLHF_BANDIT.tables;

let task: CategoryBanditTask;
let risky: CategoryArm;
let benign: CategoryArm;
const lambdaStar = { risky: NaN };

beforeAll(() => {
  setNumThreads(1);
  task = buildCategoryBandit([
    { prompt: 'answer', category: 'violence', copies: 1, tables: SAFE_RLHF_BANDIT.tables, refTarget: SAFE_RLHF_BANDIT.refTarget },
    { prompt: 'chat', category: '', copies: 3, tables: { actions: { ...actions, comply: { reward: 2, cost: -1.5 } }, others }, refTarget: { comply: 3, help: 2, refuse: 1, others: 0.3 } },
  ]);
  [risky, benign] = task.arms as [CategoryArm, CategoryArm];
  lambdaStar.risky = dualOptimum(risky.piRef, risky.reward, risky.cost, BETA, D);
});

const method = (perCategory: boolean) => ppoLagMethod({ klCoef: BETA, scoreClip: 50, lagrange: { ...BANDIT_LAGRANGE, perCategory } });
const unconstrained = (arm: CategoryArm) => tilt(arm.piRef, arm.reward, BETA);

describe('per-category λ on a two-category bandit', () => {
  it('the task: the rare category binds, the common one does not, and the mixed J_c hides the rare one at λ = 0', () => {
    expect(expectation(unconstrained(risky), risky.cost)).toBeGreaterThan(D + 0.3);
    expect(expectation(unconstrained(benign), benign.cost)).toBeLessThan(D - 0.5);
    const mixed = risky.share * expectation(unconstrained(risky), risky.cost) + benign.share * expectation(unconstrained(benign), benign.cost);
    expect(mixed).toBeLessThan(D - 0.5);
    expect(lambdaStar.risky).toBeGreaterThan(0.05);
  });

  it('one λ per category: each prompt reaches its own constrained optimum; λ_violence ≈ λ*, λ of the benign prompts → 0', () => {
    const { actor, log } = runBandit(task, method(true), RL, SEED);
    const piRisky = responseDistribution(actor, task.tokenizer, risky.prompt);
    const piBenign = responseDistribution(actor, task.tokenizer, benign.prompt);
    const wantRisky = lagrangianPolicy(risky.piRef, risky.reward, risky.cost, BETA, lambdaStar.risky);
    const lambdas = log.map((r) => ({ violence: r.categories?.violence?.lambda as number, benign: r.categories?.['']?.lambda as number }));
    expect(totalVariation(piRisky, wantRisky), `trained ${formatPi(piRisky)}\noptimum ${formatPi(wantRisky)} (λ* ${lambdaStar.risky})`).toBeLessThan(TV_TOL);
    expect(totalVariation(piBenign, unconstrained(benign)), `trained ${formatPi(piBenign)}\noptimum ${formatPi(unconstrained(benign))}`).toBeLessThan(TV_TOL);
    expect(Math.abs(tailMean(lambdas, 'violence') - lambdaStar.risky)).toBeLessThan(0.25 * lambdaStar.risky);
    expect(lambdas.at(-1)?.benign).toBeLessThan(0.01);
    expect(Math.abs(expectation(piRisky, risky.cost) - D)).toBeLessThan(0.15);
  });

  it('one global λ: it falls to ~0 and the rare category ends at its unconstrained optimum, over budget', () => {
    const { actor, log } = runBandit(task, method(false), RL, SEED);
    const piRisky = responseDistribution(actor, task.tokenizer, risky.prompt);
    expect(totalVariation(piRisky, unconstrained(risky)), `trained ${formatPi(piRisky)}\nunconstrained ${formatPi(unconstrained(risky))}`).toBeLessThan(TV_TOL);
    expect(log.at(-1)?.lambda).toBeLessThan(0.01);
    expect(expectation(piRisky, risky.cost)).toBeGreaterThan(D + 0.25);
  });
});
