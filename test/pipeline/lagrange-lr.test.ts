// The critic-free methods' own settings in the pipeline: safe GRPO's and RLOO-Lagrangian's learning rate of log λ (grpo.lagrangeLr,
// rlooLag.lagrangeLr; null: PPO-Lagrangian's) and safe GRPO's β apart from GRPO's (the tuned defaults of the README).
import { describe, expect, it } from 'vitest';
import type { ScoredRollout } from '../../src/algorithms/rl/method.js';
import { PipelineConfigSchema } from '../../src/pipeline/config.js';
import { RL_PIPELINE_METHODS } from '../../src/pipeline/methods.js';
import { DEFAULT_LAGRANGE } from '../../src/rl/index.js';
import { tensor } from '../../src/torch/index.js';

/** λ after one multiplicative step on episode costs of mean 1 against d = 0: e^(lr·1). */
function lambdaAfterOneStep(method: 'safe_grpo' | 'rloo_lag', fields: Record<string, unknown>): number {
  const config = PipelineConfigSchema.parse({ ppoLag: { lagrange: { lr: 0.1 } }, ...fields });
  const build = RL_PIPELINE_METHODS[method];
  if (!build) throw new Error(`${method} is not an RL pipeline method`);
  const m = build(config, { ...DEFAULT_LAGRANGE, lr: config.ppoLag.lagrange.lr, threshold: 0 });
  const metrics = m.beforeUpdate?.({ cost: tensor([0.5, 1.5]) } as unknown as ScoredRollout) ?? {};
  return metrics.lambda as number;
}

describe('a critic-free Lagrangian method\'s own λ learning rate', () => {
  it('defaults to PPO-Lagrangian\'s; a set value is used by that method alone', () => {
    expect(PipelineConfigSchema.parse({}).grpo.lagrangeLr).toBeNull();
    expect(lambdaAfterOneStep('safe_grpo', {})).toBeCloseTo(Math.exp(0.1), 12);
    expect(lambdaAfterOneStep('safe_grpo', { grpo: { lagrangeLr: 0.5 } })).toBeCloseTo(Math.exp(0.5), 12);
    expect(lambdaAfterOneStep('rloo_lag', { grpo: { lagrangeLr: 0.5 } })).toBeCloseTo(Math.exp(0.1), 12);
    expect(lambdaAfterOneStep('rloo_lag', { rlooLag: { lagrangeLr: 0.3 } })).toBeCloseTo(Math.exp(0.3), 12);
  });

  it("GRPO's β (0.2) and safe GRPO's (0.05) are separate settings", () => {
    const config = PipelineConfigSchema.parse({});
    const lagrange = { ...DEFAULT_LAGRANGE, threshold: 0 };
    expect(RL_PIPELINE_METHODS.grpo?.(config, lagrange).lossKlCoef).toBe(0.2);
    expect(RL_PIPELINE_METHODS.safe_grpo?.(config, lagrange).lossKlCoef).toBe(0.05);
    const set = PipelineConfigSchema.parse({ grpo: { klCoef: 0.5, safeKlCoef: 0.1 } });
    expect(RL_PIPELINE_METHODS.grpo?.(set, lagrange).lossKlCoef).toBe(0.5);
    expect(RL_PIPELINE_METHODS.safe_grpo?.(set, lagrange).lossKlCoef).toBe(0.1);
  });
});
