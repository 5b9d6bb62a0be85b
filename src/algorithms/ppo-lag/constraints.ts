// The multipliers of a Lagrangian method: one global λ (Safe RLHF), or one λ per prompt harm category.
import { CategoryLagrange, LagrangeMultiplier, type LagrangeConfig, type LagrangeState } from '../../rl/index.js';
import type { TrainingState } from '../common/checkpoint.js';
import type { ScoredRollout } from '../rl/method.js';

export interface LagrangeConstraint {
  /** One step on the rollout's episode costs (B,); the metrics to log (λ, J_c; per category `lambda:<k>`, `jc:<k>`). */
  update(r: ScoredRollout): Record<string, number>;
  /** The λ the actor advantage uses: one number, or one per row of the last update. */
  lambdas(): number | readonly number[];
  stateDict(): TrainingState;
  loadStateDict(state: TrainingState): void;
}

const costsOf = (r: ScoredRollout, name: string): number[] => {
  if (!r.cost) throw new Error(`${name} needs cost-model scores`);
  return r.cost.toNumbers();
};

/** One λ over every episode (J_c the mean cost of the window), as PPO-Lagrangian. */
export function globalConstraint(config: LagrangeConfig, name: string): LagrangeConstraint {
  const multiplier = new LagrangeMultiplier(config);
  return {
    update: (r) => {
      const out = multiplier.update(costsOf(r, name));
      return { lambda: out.lambda, jc: out.jc, lambdaLoss: out.lambdaLoss };
    },
    lambdas: () => multiplier.lambda,
    stateDict: () => multiplier.stateDict() as unknown as TrainingState,
    loadStateDict: (s) => multiplier.loadStateDict(s as unknown as LagrangeState),
  };
}

/**
 * One λ_k per prompt category k (J_c,k over the category's own episodes, threshold d for each), rows without a
 * category in '' ; each row's advantage uses its category's λ. Logged λ and J_c: the means over the rows of the step.
 */
export function perCategoryConstraint(config: LagrangeConfig, name: string): LagrangeConstraint {
  const multipliers = new CategoryLagrange(config);
  let rowLambdas: readonly number[] = [];
  return {
    update: (r) => {
      const costs = costsOf(r, name);
      const out = multipliers.update(costs, r.categories ?? costs.map(() => ''));
      rowLambdas = out.rowLambdas;
      const metrics: Record<string, number> = { lambda: rowLambdas.reduce((a, b) => a + b, 0) / Math.max(1, rowLambdas.length), jc: costs.reduce((a, b) => a + b, 0) / Math.max(1, costs.length) };
      for (const [k, v] of Object.entries(out.perCategory)) {
        metrics[`lambda:${k}`] = v.lambda;
        if (v.jc !== null) metrics[`jc:${k}`] = v.jc;
      }
      return metrics;
    },
    lambdas: () => rowLambdas,
    stateDict: () => multipliers.stateDict() as unknown as TrainingState,
    loadStateDict: (s) => multipliers.loadStateDict(s as unknown as Record<string, LagrangeState>),
  };
}
