// The native attention op (native/nn.cc) equals the unfused matmul / scale / bias / softmax / matmul computation: values and gradients.
import { describe, expect, it } from 'vitest';
import { attentionBias } from '../../src/models/attention.js';
import { attention, manualSeed, randn, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

/** What attend() computed before the op: softmax(q·kᵀ·scale + bias)·v with GQA heads repeated, (B, Lq, H·hd). */
function unfused(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | null, scale: number): Tensor {
  const [b, h, lq, hd] = q.shape as [number, number, number, number];
  const [hkv, lk] = [k.shape[1] as number, k.shape[2] as number];
  const rep = (t: Tensor) => (hkv === h ? t : t.unsqueeze(2).expand([b, hkv, h / hkv, lk, hd]).reshape([b, h, lk, hd]));
  const scores = q.matmul(rep(k).transpose(2, 3)).mul(scale);
  return (bias ? scores.add(bias) : scores).softmax(-1).matmul(rep(v)).transpose(1, 2).reshape([b, lq, h * hd]);
}

const leaf = (shape: number[]) => randn(shape).requiresGrad_();

describe('attention op', () => {
  // (B, H, Hkv, Lq, Lk, hd): several queries with a causal + padding bias, one query (cached decoding), grouped-query heads
  const cases = [
    { name: 'several queries, causal and padding bias', b: 3, h: 4, hkv: 4, lq: 5, lk: 5, hd: 8, bias: true },
    { name: 'several queries after a cache (keep rows, past keys)', b: 2, h: 2, hkv: 2, lq: 3, lk: 7, hd: 4, bias: true },
    { name: 'one query (cached decoding)', b: 4, h: 4, hkv: 4, lq: 1, lk: 9, hd: 8, bias: true },
    { name: 'one query, grouped-query heads', b: 2, h: 4, hkv: 2, lq: 1, lk: 6, hd: 4, bias: true },
    { name: 'several queries, grouped-query heads', b: 2, h: 6, hkv: 3, lq: 4, lk: 4, hd: 4, bias: true },
    { name: 'no bias (a vision encoder)', b: 2, h: 2, hkv: 2, lq: 6, lk: 6, hd: 8, bias: false },
  ];
  for (const c of cases) {
    it(`${c.name}: values and the gradients of q, k, v equal the unfused computation (1e-5)`, () =>
      tidy(() => {
        manualSeed(3);
        const q = leaf([c.b, c.h, c.lq, c.hd]);
        const k = leaf([c.b, c.hkv, c.lk, c.hd]);
        const v = leaf([c.b, c.hkv, c.lk, c.hd]);
        // left padding: row r's first r keys are pads
        const mask = tensor(Array.from({ length: c.b }, (_, r) => Array.from({ length: c.lk }, (_, j) => (j < Math.min(r, c.lk - 1) ? 0 : 1))), { dtype: 'int64' });
        const bias = c.bias ? attentionBias(mask, c.lq) : null;
        const scale = 1 / Math.sqrt(c.hd);
        const weights = randn([c.b, c.lq, c.h * c.hd]);
        const grads = (out: Tensor) => {
          for (const t of [q, k, v]) t.clearGrad();
          out.mul(weights).sum().backward();
          return [q, k, v].map((t) => (t.grad as Tensor).clone());
        };
        const got = attention(q, k, v, bias, scale);
        const want = unfused(q, k, v, bias, scale);
        expect(got.shape).toEqual([c.b, c.lq, c.h * c.hd]);
        expectAllClose(got, want.toArray() as number[][][], { atol: 1e-5, rtol: 1e-5 });
        const [gotGrads, wantGrads] = [grads(got), grads(want)];
        for (const [i, g] of gotGrads.entries()) expectAllClose(g, (wantGrads[i] as Tensor).toArray() as number[][][][], { atol: 1e-5, rtol: 1e-5 });
      }));
  }

  it('leaves the bias it is given unchanged (the scores are written into a buffer of their own)', () =>
    tidy(() => {
      manualSeed(4);
      const mask = tensor([[0, 1, 1, 1]], { dtype: 'int64' });
      const bias = attentionBias(mask, 4);
      const before = bias.toArray();
      attention(randn([1, 1, 4, 4]), randn([1, 1, 4, 4]), randn([1, 1, 4, 4]), bias, 0.5);
      expect(bias.toArray()).toEqual(before);
    }));
});
