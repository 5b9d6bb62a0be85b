// One PPO-Lagrangian step with per-category constraints on prompts of two harm categories: each category's λ steps on its own episodes, each row's advantage uses its category's λ, the log carries λ_k and J_c,k.
import { describe, expect, it } from 'vitest';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { createRlContext, rlStep, sampleRollout } from '../../src/algorithms/rl/phases.js';
import { encodePrompt } from '../../src/algorithms/common/batching.js';
import { CategoryLagrange, combineAdvantages, DEFAULT_LAGRANGE } from '../../src/rl/index.js';
import { manualSeed, type Tensor } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';
import { expectAllClose } from '../helpers/allclose.js';
import { tinyActor, tinyConfig, tinyModels, tinyPrompts } from './rl-tiny.js';

const categories = ['violence', 'privacy', 'violence', ''];

describe('per-category constraints in the loop', () => {
  it("λ_k per category from its rows' costs; (A_r − λ_k·A_c)/(1 + λ_k) per row; λ_k and J_c,k logged", () => {
    const lagrange = { ...DEFAULT_LAGRANGE, threshold: 0, lr: 0.5, perCategory: true };
    const method = ppoLagMethod({ klCoef: 0.1, scoreClip: 50, lagrange });
    const { tokenizer, models } = tinyModels(method);
    models.reference = tinyActor(tokenizer, 9);
    const config = tinyConfig({ promptsPerStep: 4, miniBatchSize: 4, ppoEpochs: 1, ptxCoef: 0, whitenAdvantages: false });
    const ctx = createRlContext(method, models, config, [], tokenizer.padId ?? 0);
    const ids = [0, 1, 2, 3].map((p) => encodePrompt(tokenizer, tinyPrompts[p] as { prompt: string }));
    manualSeed(7);
    const rollout = { ...sampleRollout(models.actor, ids, config, { padId: tokenizer.padId ?? 0, eosId: tokenizer.eosId }), categories };
    const { trace, record } = rlStep(ctx, rollout, 1, new Rng(0));
    const costs = (trace.scores.cost as Tensor).toNumbers();
    const want = new CategoryLagrange(lagrange).update(costs, categories);
    expect(Object.keys(record.categories ?? {}).sort()).toEqual(['', 'privacy', 'violence']);
    for (const [k, v] of Object.entries(want.perCategory)) {
      expect(record.categories?.[k]?.lambda).toBeCloseTo(v.lambda, 12);
      expect(record.categories?.[k]?.jc).toBeCloseTo(v.jc as number, 12);
    }
    expect(new Set(want.rowLambdas).size).toBeGreaterThan(1);
    const { reward, cost } = trace.streams.advantages as { reward: Tensor; cost: Tensor };
    expectAllClose(trace.combinedAdvantages, combineAdvantages(reward, cost, want.rowLambdas).toNumbers(), { atol: 1e-6, rtol: 1e-6 });
    expectAllClose(record.lambda as number, want.rowLambdas.reduce((a, b) => a + b, 0) / 4, { atol: 1e-9, rtol: 1e-9 });
  });
});
