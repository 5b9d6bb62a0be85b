// GELU's tanh form on contiguous float32 CPU tensors runs our vectorised kernel (native/kernels.cc: x / (1 + exp(−2u)) with
// glibc's vector exp) instead of ATen's (tanh to 1 ulp): close to the exact function, the same bits wherever a value sits
// and however many threads share the work, and ATen's gradient. Other tensors (non-contiguous, float64) go to ATen.
// The golden test (test/torch/ops.test.ts, gelu_tanh) compares both with PyTorch; a wrong constant there fails it.
import { afterEach, describe, expect, it } from 'vitest';
import { arange, cat, getNumThreads, manualSeed, randn, setNumThreads, tensor, tidy, type Tensor } from '../../src/torch/index.js';

const flat = (t: Tensor) => (t.toArray() as number[][]).flat(3) as number[];
/** The float64 GELU (ATen's, exact to double rounding) of x. */
const exact = (x: Tensor) => x.to('float64').gelu('tanh');
/** ATen's own float32 kernel: a non-contiguous tensor is not ours. */
const aten = (x: Tensor) => x.reshape([1, -1]).expand([2, -1]).transpose(0, 1).gelu('tanh').select(1, 0).contiguous();

describe('the vectorised tanh GELU', () => {
  const threads = getNumThreads();
  afterEach(() => setNumThreads(threads));

  it('is within 1e-6 + 2e-6·|y| of the exact function on [−12, 12] and at large |x|, and within 1e-6 of ATen float32', () =>
    tidy(() => {
      const x = cat([arange(-12, 12, 0.0007), tensor([-1e6, -1e3, -60, -30, -9.5, -1e-20, 0, 1e-20, 30, 60, 1e3, 1e6])]).float();
      const [ours, want, theirs] = [flat(x.gelu('tanh')), flat(exact(x)), flat(aten(x))];
      let worst = 0;
      let worstAten = 0;
      want.forEach((w, i) => {
        worst = Math.max(worst, Math.abs((ours[i] as number) - w) / (1e-6 + 2e-6 * Math.abs(w)));
        worstAten = Math.max(worstAten, Math.abs((ours[i] as number) - (theirs[i] as number)));
      });
      expect(worst).toBeLessThanOrEqual(1);
      expect(worstAten).toBeLessThanOrEqual(1e-6);
      // the limits: 0 far left, x far right
      expect(flat(tensor([-1e6, -200, 200, 1e6]).gelu('tanh'))).toEqual([-0, -0, 200, 1e6].map((v, i) => (i < 2 ? expect.closeTo(v, 30) : v)));
    }));

  it('gives a value the same bits wherever it sits (vector body or padded tail) and with 1 or 2 threads', () =>
    tidy(() => {
      manualSeed(5);
      const values = randn([37]).mul(3);
      const alone = flat(values.gelu('tanh'));
      for (const shift of [1, 5, 16, 17, 31]) {
        const padded = cat([randn([shift]), values, randn([shift + 3])]);
        expect(flat(padded.gelu('tanh').narrow(0, shift, 37))).toEqual(alone);
      }
      const big = randn([300_001]).mul(3);
      setNumThreads(1);
      const one = flat(big.gelu('tanh'));
      setNumThreads(2);
      expect(flat(big.gelu('tanh'))).toEqual(one);
      expect(flat(big.narrow(0, 250_000, 37).contiguous().gelu('tanh'))).toEqual(one.slice(250_000, 250_037));
    }));

  it('passes NaN through and keeps ±0 and ±inf on the right side', () =>
    tidy(() => {
      const y = flat(tensor([NaN, 0, Infinity, -1e30, -3e38, -9.3, -9.2]).gelu('tanh'));
      expect(Number.isNaN(y[0])).toBe(true);
      expect(y.slice(1, 5)).toEqual([0, Infinity, -0, -0]);
      // just left of the cut-off the true values are ~1e-31 (ATen's 1 + tanh u already rounds to 0 there)
      y.slice(5).forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-29));
    }));

  it("backward is ATen's: the same gradient bits as the ATen path, within 1e-6 of the float64 one", () =>
    tidy(() => {
      manualSeed(6);
      const x0 = randn([9, 41]).mul(3);
      const w = randn([9, 41]);
      const grad = (x: Tensor, f: (t: Tensor) => Tensor) => {
        const leaf = x.detach().requiresGrad_();
        f(leaf).mul(w.to(x.dtype)).sum().backward();
        return flat(leaf.grad as Tensor);
      };
      const ours = grad(x0, (t) => t.gelu('tanh'));
      const theirs = grad(x0, (t) => t.transpose(0, 1).gelu('tanh').transpose(0, 1));
      expect(ours).toEqual(theirs);
      const want = grad(x0.to('float64'), (t) => t.gelu('tanh'));
      want.forEach((g, i) => expect(Math.abs((ours[i] as number) - g)).toBeLessThanOrEqual(1e-6 + 1e-6 * Math.abs(g)));
    }));
});
