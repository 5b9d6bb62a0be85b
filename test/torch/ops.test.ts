// Every op family against PyTorch: values and gradients from reference/golden/torch_ops.json.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  SGD,
  cat,
  clipGradNorm,
  crossEntropy,
  embedding,
  layerNorm,
  linear,
  lrSchedule,
  ones,
  stack,
  tensor,
  where,
  type DType,
  type Tensor,
} from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

interface Arr {
  dtype: string;
  shape: number[];
  data: (number | boolean)[];
}
interface Case {
  name: string;
  inputs: Arr[];
  outputs: Arr[];
  weights?: number[];
  grads?: (number[] | null)[];
}
const golden = JSON.parse(readFileSync('reference/golden/torch_ops.json', 'utf8')) as {
  cases: Case[];
  optim: Record<string, number[][]>;
  clip: { total: number; grads: number[][] };
  schedules: Record<string, number[]>;
};

type Op = (...xs: Tensor[]) => Tensor | { values: Tensor; indices: Tensor };
const sq = (h: number) => 1 / Math.sqrt(h);

/** The same ops as the reference script, by case name. */
const OPS: Record<string, Op> = {
  add: (a, b) => a.add(b as Tensor),
  add_alpha: (a, b) => a.add(b as Tensor, 2.5),
  sub: (a, b) => a.sub(b as Tensor),
  mul: (a, b) => a.mul(b as Tensor),
  div: (a, b) => a.div(b as Tensor),
  pow_scalar: (a) => a.abs().add(0.1).pow(1.7),
  maximum: (a, b) => a.maximum(b as Tensor),
  minimum: (a, b) => a.minimum(b as Tensor),
  matmul: (a, b) => a.matmul(b as Tensor),
  bmm: (a, b) => a.bmm(b as Tensor),
  exp: (a) => a.exp(),
  tanh: (a) => a.tanh(),
  sigmoid: (a) => a.sigmoid(),
  relu: (a) => a.relu(),
  silu: (a) => a.silu(),
  logsigmoid: (a) => a.logsigmoid(),
  abs: (a) => a.abs(),
  sin: (a) => a.sin(),
  cos: (a) => a.cos(),
  neg: (a) => a.neg(),
  gelu: (a) => a.gelu(),
  gelu_tanh: (a) => a.gelu('tanh'),
  log: (a) => a.abs().add(0.1).log(),
  sqrt: (a) => a.abs().add(0.1).sqrt(),
  rsqrt: (a) => a.abs().add(0.1).rsqrt(),
  softmax: (a) => a.softmax(-1),
  log_softmax: (a) => a.logSoftmax(1),
  clamp: (a) => a.clamp(-0.5, 0.7),
  clamp_min: (a) => a.clamp(0.1),
  sum_all: (a) => a.sum(),
  sum_dim: (a) => a.sum(1, true),
  sum_dims: (a) => a.sum([0, 2]),
  mean_dim: (a) => a.mean(-1),
  max_dim: (a) => a.max(1),
  min_dim: (a) => a.min(0, true),
  argmax: (a) => a.argmax(1),
  logsumexp: (a) => a.logsumexp(1),
  cumsum: (a) => a.cumsum(1),
  std: (a) => a.std(1),
  var_biased: (a) => a.var(1, { unbiased: false, keepdim: true }),
  std_all: (a) => a.std(),
  permute_reshape: (a) => a.permute([2, 0, 1]).reshape([4, 6]),
  transpose_contig: (a) => a.transpose(0, 1).contiguous(),
  narrow: (a) => a.narrow(1, 1, 2),
  select: (a) => a.select(0, 1),
  slice_step: (a) => a.slice(1, 0, 4, 2),
  unsqueeze_expand: (a) => a.unsqueeze(1).expand([3, 2, 4]),
  index_select: (a, i) => a.indexSelect(0, i as Tensor),
  gather: (a, i) => a.gather(1, i as Tensor),
  scatter: (a, i, s) => a.scatter(1, i as Tensor, s as Tensor),
  cat: (a, b) => cat([a, b as Tensor], 1),
  stack: (a, b) => stack([a, b as Tensor], 0),
  where: (c, a, b) => where(c, a as Tensor, b as Tensor),
  masked_fill: (a, m) => a.maskedFill(m as Tensor, -2),
  triu: (a) => a.triu(1),
  tril: (a) => a.tril(),
  topk: (a) => a.topk(2, 1),
  sort_desc: (a) => a.sort(1, true),
  repeat: (a) => a.repeat([2, 1]),
  lt_scalar: (a) => a.lt(0.1),
  eq_tensor: (a, b) => roundT(a).eq(roundT(b as Tensor)),
  linear: (x, w, b) => linear(x, w as Tensor, b as Tensor),
  layer_norm: (x, w, b) => layerNorm(x, [4], w as Tensor, b as Tensor, 1e-5),
  embedding: (w, i) => embedding(w, i as Tensor),
  cross_entropy: (x, t) => crossEntropy(x, t as Tensor),
  cross_entropy_none: (x, t) => crossEntropy(x, t as Tensor, { reduction: 'none' }),
  cross_entropy_sum: (x, t) => crossEntropy(x, t as Tensor, { reduction: 'sum' }),
  mlp: (x, w1, b1, w2, b2) => linear(linear(x, w1 as Tensor, b1 as Tensor).gelu(), w2 as Tensor, b2 as Tensor),
  causal_attention: (x, wq, wk, wv, wo) => {
    const [b, l, d] = x.shape as [number, number, number];
    const h = 2;
    const heads = (w: Tensor) => x.matmul(w).view([b, l, h, d / h]).transpose(1, 2);
    const q = heads(wq as Tensor);
    const k = heads(wk as Tensor);
    const v = heads(wv as Tensor);
    const mask = ones([l, l]).triu(1).gt(0);
    const s = q.matmul(k.transpose(2, 3)).mul(sq(d / h)).maskedFill(mask, -1e9);
    return s.softmax(-1).matmul(v).transpose(1, 2).reshape([b, l, d]).matmul(wo as Tensor);
  },
};

/** torch.round (half to even) for the comparison case: values here never sit on .5. */
function roundT(t: Tensor): Tensor {
  return tensor(t.toNumbers().map((x) => Math.round(x)), { shape: t.shape });
}

function input(a: Arr): Tensor {
  const t = tensor(a.data as number[], { dtype: a.dtype as DType, shape: a.shape });
  if (a.dtype === 'float32') t.requiresGrad_(true);
  return t;
}

describe('ops match PyTorch (values and gradients)', () => {
  it('covers every case of the reference script', () => {
    expect(golden.cases.map((c) => c.name).filter((n) => !(n in OPS))).toEqual([]);
  });
  for (const c of golden.cases) {
    it(c.name, () => {
      const xs = c.inputs.map(input);
      const out = (OPS[c.name] as Op)(...xs);
      const outs = 'values' in out ? [out.values, out.indices] : [out];
      c.outputs.forEach((o, i) => {
        const t = outs[i] as Tensor;
        expect(t.shape).toEqual(o.shape);
        expectAllClose(t, o.data as number[], { atol: 2e-5, rtol: 1e-4 });
      });
      if (c.weights && c.grads) {
        const first = outs[0] as Tensor;
        first.mul(tensor(c.weights, { shape: first.shape })).sum().backward();
        const floats = xs.filter((x) => x.requiresGrad);
        c.grads.forEach((g, i) => {
          const grad = floats[i]?.grad ?? null;
          if (g === null) return;
          expect(grad, `gradient of input ${i}`).not.toBeNull();
          expectAllClose(grad as Tensor, g, { atol: 5e-5, rtol: 1e-4 });
        });
      }
    });
  }
});

describe('optimisers, clipping and schedules match PyTorch', () => {
  const target = tensor([0.3, 0.1, -0.2]);
  const scale = tensor([1, 2, 3]);
  function trace(make: (ps: Tensor[]) => AdamW | SGD): number[][] {
    const p = tensor([1, -2, 0.5], { requiresGrad: true });
    const opt = make([p]);
    const out: number[][] = [];
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      p.sub(target).pow(2).mul(scale).sum().add(p.sum().mul(0.1 * i)).backward();
      opt.step();
      out.push(p.toNumbers());
    }
    return out;
  }
  it("AdamW (our fused step over libtorch's state) takes the same steps as torch.optim.AdamW", () => {
    expectAllClose(trace((ps) => new AdamW(ps, { lr: 0.1, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.05 })).flat(), golden.optim.adamw?.flat() as number[]);
  });
  it('SGD with momentum and weight decay matches', () => {
    expectAllClose(trace((ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, weightDecay: 0.01 })).flat(), golden.optim.sgd?.flat() as number[]);
  });
  it('optimiser state round-trips through stateDict (resume gives identical steps)', () => {
    const p = tensor([1, -2, 0.5], { requiresGrad: true });
    const opt = new AdamW([p], { lr: 0.1 });
    const step = () => {
      opt.zeroGrad();
      p.sub(target).pow(2).sum().backward();
      opt.step();
    };
    step();
    const saved = opt.stateDict();
    const q = tensor(p.toNumbers(), { requiresGrad: true });
    const opt2 = new AdamW([q], { lr: 0.5 });
    opt2.loadStateDict(saved);
    expect(opt2.lr).toBeCloseTo(0.1, 12);
    step();
    opt2.zeroGrad();
    q.sub(target).pow(2).sum().backward();
    opt2.step();
    expect(q.toNumbers()).toEqual(p.toNumbers());
  });
  it('clipGradNorm returns the total norm and scales gradients like clip_grad_norm_', () => {
    const p1 = tensor([3, 4], { requiresGrad: true });
    const p2 = tensor([[12]], { requiresGrad: true });
    p1.mul(tensor([3, 4])).sum().add(p2.mul(12).sum()).backward();
    expect(clipGradNorm([p1, p2], 6.5)).toBeCloseTo(golden.clip.total, 5);
    expectAllClose(p1.grad as Tensor, golden.clip.grads[0] as number[]);
    expectAllClose(p2.grad as Tensor, golden.clip.grads[1] as number[]);
  });
  for (const kind of ['constant', 'linear', 'cosine'] as const) {
    it(`lrSchedule('${kind}') equals torch LambdaLR`, () => {
      const s = lrSchedule({ kind, warmupSteps: 3, totalSteps: 10 });
      expectAllClose(Array.from({ length: 10 }, (_, i) => s(i)), golden.schedules[kind] as number[], { atol: 1e-12 });
    });
  }
});
