// Ensemble reductions (mean, worst, UP-RLHF's mean ∓ k·std, BRME's λ·mean + (1 − λ)·worst) against reference/golden/ensemble.json (PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reduceEnsemble, type EnsembleReduction } from '../../src/rl/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose, type Nested } from '../helpers/allclose.js';

interface Case { stream: 'reward' | 'cost'; reduce: EnsembleReduction; value: number[]; grad: number[][] }
const g = JSON.parse(readFileSync('reference/golden/ensemble.json', 'utf8')) as { k: number; lambda: number; scores: number[][]; weights: number[]; cases: Case[]; single: number[][] };
const spec = (reduce: EnsembleReduction) => ({ reduce, k: g.k, lambda: g.lambda });
const worseOf = (stream: Case['stream']) => (stream === 'reward' ? 'lower' : 'higher');

describe('reduceEnsemble', () => {
  for (const c of g.cases) {
    it(`${c.stream} ${c.reduce}: values and gradients match PyTorch`, () => {
      const scores = tensor(g.scores, { requiresGrad: true });
      const out = reduceEnsemble(scores, spec(c.reduce), worseOf(c.stream));
      expectAllClose(out, c.value);
      out.mul(tensor(g.weights)).sum().backward();
      expectAllClose(scores.grad as NonNullable<typeof scores.grad>, c.grad as Nested);
    });
  }

  it('worst is the lowest member of a reward and the highest of a cost', () => {
    const s = tensor([[1, -2, 3], [0.5, 4, -1]]);
    expect([...reduceEnsemble(s, spec('worst'), 'lower').toFloat64Array()]).toEqual([0.5, -2, -1]);
    expect([...reduceEnsemble(s, spec('worst'), 'higher').toFloat64Array()]).toEqual([1, 4, 3]);
  });

  it('a single member is its own score under every reduction', () => {
    for (const c of g.cases) expectAllClose(reduceEnsemble(tensor(g.single), spec(c.reduce), worseOf(c.stream)), g.single[0] as number[]);
  });
});
