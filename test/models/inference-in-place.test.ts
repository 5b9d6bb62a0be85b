// Inference without gradient runs GPT-2's GELU in place (gelu_): the same values bit for bit as the out-of-place op, and a
// no-grad forward equals the forward with grad exactly.
import { describe, expect, it, vi } from 'vitest';
import { createCausalLM, parseModelConfig } from '../../src/models/index.js';
import { manualSeed, noGrad, randint, randn, Tensor, tidy } from '../../src/torch/index.js';

describe('gelu_', () => {
  for (const approximate of ['tanh', 'none'] as const) {
    it(`${approximate}: equals gelu bit for bit, in the same tensor`, () =>
      tidy(() => {
        manualSeed(2);
        const x = randn([37, 129]).mul(4);
        const want = x.gelu(approximate).toArray();
        const y = x.clone();
        expect(y.gelu_(approximate)).toBe(y);
        expect(y.toArray()).toEqual(want);
      }));
  }

  it('refuses a tensor that requires grad while grad mode is on; allowed under noGrad', () =>
    tidy(() => {
      const x = randn([3, 4]).requiresGrad_();
      expect(() => x.mul(1).gelu_('tanh')).toThrow(/requires grad and grad mode is on; use gelu/);
      noGrad(() => expect(x.clone().gelu_('tanh').toArray()).toEqual(noGrad(() => x.gelu('tanh').toArray())));
    }));
});

describe('GPT-2 forward under noGrad (GELU in place)', () => {
  for (const activation of ['gelu_new', 'gelu'] as const) {
    it(`${activation}: logits and cache bit for bit those of the forward with grad`, () =>
      tidy(() => {
        manualSeed(3);
        const model = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, n_positions: 16, vocab_size: 50, activation_function: activation })).eval();
        const ids = randint(0, 50, [3, 7]);
        const mask = randint(1, 2, [3, 7]);
        const inPlace = vi.spyOn(Tensor.prototype, 'gelu_');
        const withGrad = model.forward(ids, mask);
        expect(inPlace).not.toHaveBeenCalled();
        const without = noGrad(() => model.forward(ids, mask));
        expect(inPlace).toHaveBeenCalledTimes(2); // one a layer
        inPlace.mockRestore();
        expect(without.logits.toArray()).toEqual(withGrad.logits.toArray());
        expect(without.cache.map((c) => c.k.toArray())).toEqual(withGrad.cache.map((c) => c.k.toArray()));
      }));
  }
});
