// AdamW's step on float32 CPU parameters is one fused pass of our own (native/kernels.cc AdamW over libtorch's AdamW state);
// float64 parameters take libtorch's own step (eight ATen ops a parameter). Both are the same AdamW: the golden test
// (test/torch/ops.test.ts) compares the fused one with torch.optim.AdamW; here it is compared with libtorch's in float64
// over steps with weight decay, a learning-rate change and a parameter without a gradient, its state exported and
// resumed, and its bits checked not to depend on the thread count.
import { afterEach, describe, expect, it } from 'vitest';
import { AdamW, getNumThreads, manualSeed, randn, setNumThreads, tidy, type Tensor } from '../../src/torch/index.js';

const flat = (t: Tensor) => (t.toArray() as number[][]).flat(2) as number[];

/** Five AdamW steps on three parameters of dtype `dtype` (the third without a gradient before step 2: no state until then), from the same draws. */
function run(dtype: 'float32' | 'float64', opts: { resumeAt?: number } = {}) {
  return tidy(() => {
    manualSeed(8);
    const init = [randn([33, 17]), randn([1000]), randn([5])];
    const targets = init.map((t) => randn(t.shape as number[]));
    const make = () => init.map((t) => t.to(dtype).detach().requiresGrad_());
    let params = make();
    let opt = new AdamW(params, { lr: 0.05, betas: [0.9, 0.99], eps: 1e-6, weightDecay: 0.1 });
    for (let step = 0; step < 5; step++) {
      if (step === opts.resumeAt) {
        const saved = opt.stateDict();
        const values = params.map((p) => p.detach().clone());
        params = values.map((v) => v.requiresGrad_());
        opt = new AdamW(params, { lr: 0.3, betas: [0.9, 0.99], eps: 1e-6, weightDecay: 0.1 });
        opt.loadStateDict(saved);
      }
      if (step === 3) opt.lr = 0.02;
      opt.zeroGrad();
      const used = step < 2 ? params.slice(0, 2) : params;
      used
        .map((p, i) => p.sub((targets[i] as Tensor).to(dtype)).pow(2).mul(i + 1).sum())
        .reduce((a, b) => a.add(b))
        .backward();
      opt.step();
    }
    const state = opt.stateDict().params.map((s) => ({ step: s?.step as number, expAvg: flat(s?.expAvg as Tensor), expAvgSq: flat(s?.expAvgSq as Tensor) }));
    return { params: params.map(flat), state };
  });
}

describe('fused AdamW step', () => {
  const threads = getNumThreads();
  afterEach(() => setNumThreads(threads));

  it("equals libtorch's AdamW (float64) to float32 rounding: parameters, moments and step counts, a skipped parameter included", () => {
    const fused = run('float32');
    const reference = run('float64');
    fused.params.forEach((p, i) => p.forEach((v, j) => expect(Math.abs(v - (reference.params[i]?.[j] as number))).toBeLessThanOrEqual(2e-6 * (1 + Math.abs(v)))));
    expect(fused.state.map((s) => s.step)).toEqual([5, 5, 3]);
    expect(reference.state.map((s) => s.step)).toEqual([5, 5, 3]);
    fused.state.forEach((s, i) => {
      const r = reference.state[i] as (typeof reference.state)[number];
      s.expAvg.forEach((v, j) => expect(Math.abs(v - (r.expAvg[j] as number))).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(v))));
      s.expAvgSq.forEach((v, j) => expect(Math.abs(v - (r.expAvgSq[j] as number))).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(v))));
    });
  });

  it('resumes from its exported state bit for bit', () => {
    expect(run('float32', { resumeAt: 3 })).toEqual(run('float32'));
  });

  it('gives the same bits with 1 and 2 threads (a parameter large enough to be shared out)', () =>
    tidy(() => {
      const step = () => {
        manualSeed(9);
        const p = randn([200_003]).requiresGrad_();
        const opt = new AdamW([p], { lr: 0.01, weightDecay: 0.01 });
        for (let i = 0; i < 2; i++) {
          opt.zeroGrad();
          p.pow(3).sum().backward();
          opt.step();
        }
        return flat(p);
      };
      setNumThreads(1);
      const one = step();
      setNumThreads(2);
      expect(step()).toEqual(one);
    }));
});
