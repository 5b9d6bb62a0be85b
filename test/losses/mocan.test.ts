// MoCAN's dual, its gradient and its minimiser λ* against reference/golden/mocan.json (reference/mocan.py, PyTorch autograd and Newton's method).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mocanDual, mocanDualGradient, scoreMatrix, solveMocanDual, tiltedCost } from '../../src/losses/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

interface Case {
  beta: number;
  threshold: number;
  lambda: number;
  dual: number;
  dLambda: number;
  dRewards: number[][];
  dCosts: number[][];
  tiltedCost: number;
}
interface Optimum {
  beta: number;
  threshold: number;
  lambda: number;
  dual: number;
  tiltedCost: number;
}
const g = JSON.parse(readFileSync('reference/golden/mocan.json', 'utf8')) as { rewards: number[][]; costs: number[][]; cases: Case[]; optima: Optimum[] };

describe('MoCAN dual', () => {
  for (const c of g.cases) {
    it(`β=${c.beta} d=${c.threshold} λ=${c.lambda}: D(λ), dD/dλ (autograd and closed form), dD/dr, dD/dc match PyTorch`, () => {
      const rewards = tensor(g.rewards, { requiresGrad: true });
      const costs = tensor(g.costs, { requiresGrad: true });
      const lambda = tensor(c.lambda, { requiresGrad: true });
      const settings = { beta: c.beta, threshold: c.threshold };
      const dual = mocanDual(rewards, costs, lambda, settings);
      expectAllClose(dual.item(), c.dual);
      dual.backward();
      expectAllClose(lambda.grad as NonNullable<typeof lambda.grad>, [c.dLambda]);
      expectAllClose(rewards.grad as NonNullable<typeof rewards.grad>, c.dRewards);
      expectAllClose(costs.grad as NonNullable<typeof costs.grad>, c.dCosts);
      expectAllClose(mocanDualGradient(tensor(g.rewards), tensor(g.costs), c.lambda, settings), c.dLambda);
      expectAllClose(tiltedCost(tensor(g.rewards), tensor(g.costs), c.lambda, c.beta), c.tiltedCost);
      expectAllClose(mocanDual(tensor(g.rewards), tensor(g.costs), c.lambda, settings).item(), c.dual);
    });
  }

  for (const o of g.optima) {
    it(`β=${o.beta} d=${o.threshold}: λ* by bisection matches Newton's method in PyTorch (${o.lambda.toFixed(4)})`, () => {
      const s = solveMocanDual(scoreMatrix(g.rewards.flat(), g.rewards[0]?.length as number), tensor(g.costs, { dtype: 'float64' }), { beta: o.beta, threshold: o.threshold });
      expectAllClose(s.lambda, o.lambda, { atol: 1e-7, rtol: 1e-6 });
      expectAllClose(s.dual, o.dual, { atol: 1e-9, rtol: 1e-9 });
      expectAllClose(s.tiltedCost, o.tiltedCost, { atol: 1e-7, rtol: 1e-6 });
      expect(s.infeasible).toBe(false);
      // KKT: either the budget binds (E_π_λ*[c] = d, λ* > 0) or λ* = 0 with the budget met
      if (o.lambda > 0) expect(Math.abs(s.gradient)).toBeLessThan(1e-7);
      else expect(s.costAtZero).toBeLessThanOrEqual(o.threshold);
    });
  }

  it('a budget below every sampled cost is infeasible: λ* stops at lambdaMax and says so', () => {
    const s = solveMocanDual(tensor([[0, 1]]), tensor([[1, 2]]), { beta: 1, threshold: 0.5, lambdaMax: 100 });
    expect(s.infeasible).toBe(true);
    expect(s.lambda).toBe(100);
  });
});
