// GPT-2's Conv1D layout (W stored (in, out)) adds its bias inside the matrix product: equal to x·W + b, values and gradients to 1e-5.
import { describe, expect, it } from 'vitest';
import { Linear } from '../../src/models/index.js';
import { manualSeed, randn, setNumThreads, tidy, type Tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

/** Output and the gradients of x, W and b of a weighted sum of f(x). */
function run(layer: Linear, x: Tensor, f: (x: Tensor) => Tensor): { y: number[]; grads: number[][] } {
  return tidy(() => {
    for (const p of [layer.weight, layer.bias as Tensor, x]) p.clearGrad();
    const y = f(x);
    y.mul(y.detach().sin()).sum().backward();
    return { y: [...y.toFloat64Array()], grads: [x, layer.weight, layer.bias as Tensor].map((t) => [...(t.grad as Tensor).toFloat64Array()]) };
  });
}

describe("Linear 'in-out' (HF Conv1D)", () => {
  setNumThreads(1);
  manualSeed(3);
  // K = 300 spans several of the BLAS kernel's blocks along the inner dimension
  const layer = new Linear(300, 40, 'in-out', { bias: true, std: 0.05 });
  layer.bias?.copy_(randn([40]));
  const cases: [string, Tensor][] = [
    ['3-D contiguous', randn([3, 7, 300], { requiresGrad: true })],
    ['2-D', randn([9, 300], { requiresGrad: true })],
    ['3-D transposed (not contiguous)', randn([7, 3, 300]).transpose(0, 1).detach().requiresGrad_(true)],
  ];
  for (const [name, x] of cases) {
    it(`${name}: x·W + b and the gradients of x, W and b (1e-5)`, () => {
      const got = run(layer, x, (t) => layer.forward(t));
      const want = run(layer, x, (t) => t.matmul(layer.weight).add(layer.bias as Tensor));
      expect(got.y.length).toBe(x.numel / 300 * 40);
      expectAllClose(got.y, want.y, { atol: 1e-5, rtol: 1e-5 });
      for (const [i, g] of got.grads.entries()) expectAllClose(g, want.grads[i] as number[], { atol: 1e-5, rtol: 1e-5 });
    });
  }
});
