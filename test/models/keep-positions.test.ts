// The last layer on the kept positions only (Backbone.forward's keep, CausalLM's logitsToKeep, ScoreModel's keep and endScores) equals the full pass: values and gradients to 1e-5.
import { describe, expect, it } from 'vitest';
import { createCausalLM, parseModelConfig, ScoreModel, type CausalLM } from '../../src/models/index.js';
import { manualSeed, noGrad, setNumThreads, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

const CONFIGS = {
  gpt2: { model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, n_positions: 32, vocab_size: 20, tie_word_embeddings: true },
  llama: { model_type: 'llama', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, vocab_size: 20 },
} as const;

// left-padded prompts, right-padded responses: rows end at columns 5, 7, 3 and 6
const ids = tensor(
  [
    [0, 0, 3, 4, 5, 6, 0, 0],
    [1, 2, 3, 4, 5, 6, 7, 8],
    [0, 5, 6, 9, 0, 0, 0, 0],
    [0, 0, 0, 7, 8, 9, 10, 0],
  ],
  { dtype: 'int64' },
);
const mask = ids.ne(0).long();
const KEEP = 3;

function model(kind: keyof typeof CONFIGS): CausalLM {
  manualSeed(5);
  return createCausalLM(parseModelConfig(CONFIGS[kind]));
}

/** Values and every parameter's gradient of a weighted sum of `out` (B, K, ·). */
function withGradients(params: Tensor[], run: () => Tensor): { value: number[]; grads: number[][] } {
  return tidy(() => {
    for (const p of params) p.clearGrad();
    const out = run();
    const weights = tensor(Array.from({ length: out.numel }, (_, i) => ((i * 7) % 5) - 2)).reshape(out.shape);
    out.mul(weights).sum().backward();
    return { value: [...out.toFloat64Array()], grads: params.map((p) => [...(p.grad as Tensor).toFloat64Array()]) };
  });
}

describe('the last layer on the kept positions only', () => {
  setNumThreads(1);
  for (const kind of ['gpt2', 'llama'] as const) {
    it(`${kind}: hidden states, logits and every gradient equal the full pass's last ${KEEP} positions (1e-5)`, () => {
      const lm = model(kind);
      const params = lm.parameters();
      const L = ids.shape[1] as number;
      const full = withGradients(params, () => lm.forward(ids, mask).logits.narrow(1, L - KEEP, KEEP));
      const kept = withGradients(params, () => {
        const out = lm.forward(ids, mask, undefined, KEEP);
        expect(out.hidden.shape).toEqual([4, KEEP, lm.backbone.hiddenSize]);
        return out.logits;
      });
      expectAllClose(kept.value, full.value, { atol: 1e-5, rtol: 0 });
      for (const [i, g] of kept.grads.entries()) expectAllClose(g, full.grads[i] as number[], { atol: 1e-5, rtol: 1e-5 });
      // the cache still holds every position's keys and values
      const cached = noGrad(() => lm.forward(ids, mask, undefined, 1).cache);
      const all = noGrad(() => lm.forward(ids, mask).cache);
      for (const [i, layer] of cached.entries()) {
        expectAllClose(layer.k, (all[i] as (typeof all)[number]).k.toArray() as number[][][][], { atol: 1e-6, rtol: 0 });
        expectAllClose(layer.v, (all[i] as (typeof all)[number]).v.toArray() as number[][][][], { atol: 1e-6, rtol: 0 });
      }
    });

    it(`${kind} score model: kept scores, end scores and their gradients equal the full pass (1e-5); a row ending before the kept positions is refused`, () => {
      const critic = ScoreModel.fromCausalLM(model(kind), 'critic');
      const params = critic.parameters();
      const L = ids.shape[1] as number;
      // the rows ending among the last KEEP columns
      const late = tensor([0, 1, 3], { dtype: 'int64' });
      const [x, m] = [ids.indexSelect(0, late), mask.indexSelect(0, late)];
      const full = withGradients(params, () => {
        const out = critic.forward(x, m);
        return out.scores.narrow(1, L - KEEP, KEEP).add(out.endScores.unsqueeze(1));
      });
      const kept = withGradients(params, () => {
        const out = critic.forward(x, m, KEEP);
        return out.scores.add(out.endScores.unsqueeze(1));
      });
      expectAllClose(kept.value, full.value, { atol: 1e-5, rtol: 0 });
      for (const [i, g] of kept.grads.entries()) expectAllClose(g, full.grads[i] as number[], { atol: 1e-5, rtol: 1e-5 });
      const ends = withGradients(params, () => critic.endScores(ids, mask).unsqueeze(1));
      const fullEnds = withGradients(params, () => critic.forward(ids, mask).endScores.unsqueeze(1));
      expectAllClose(ends.value, fullEnds.value, { atol: 1e-5, rtol: 0 });
      for (const [i, g] of ends.grads.entries()) expectAllClose(g, fullEnds.grads[i] as number[], { atol: 1e-5, rtol: 1e-5 });
      expect(() => noGrad(() => critic.forward(ids, mask, KEEP))).toThrow(/ends before the last 3 positions/);
    });
  }
});
