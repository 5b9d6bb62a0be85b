// Generation drops stopped rows from the decoding batch without changing what is sampled (same tokens and log-probs as a batch that never shrinks), and runs a repeated prompt once.
import { describe, expect, it } from 'vitest';
import { createCausalLM, generate, parseModelConfig, sequenceLogProbs, type CausalLM, type GenerateOptions } from '../../src/models/index.js';
import { cat, manualSeed, ones, setNumThreads, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

const STOP = 3;
const PAD = 0;
const T = 14;

function tinyModel(): CausalLM {
  manualSeed(11);
  return createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 2, n_head: 4, n_positions: 64, vocab_size: 12, tie_word_embeddings: true })).eval();
}

/** Left-padded prompts of different lengths. */
const prompts = [[5, 6, 7, 8], [9, 4], [4, 4, 5], [10], [6, 7, 8, 9], [11, 5], [7], [8, 9, 10]];
const L = Math.max(...prompts.map((p) => p.length));
const ids = tensor(prompts.map((p) => [...Array<number>(L - p.length).fill(PAD), ...p]), { dtype: 'int64' });
const mask = tensor(prompts.map((p) => [...Array<number>(L - p.length).fill(0), ...p.map(() => 1)]), { dtype: 'int64' });

/** Runs generate with the model's forward recording the batch size of every call. */
function run(model: CausalLM, seed: number, stopTokenIds: number[], inputs = { ids, mask }, sampling: Partial<GenerateOptions> = { temperature: 0.9, topP: 0.95 }) {
  const sizes: number[] = [];
  const forward = model.forward.bind(model);
  model.forward = (x: Tensor, m: Tensor, c?: Parameters<CausalLM['forward']>[2], k?: number) => {
    sizes.push(x.shape[0] as number);
    return forward(x, m, c, k);
  };
  manualSeed(seed);
  const out = generate(model, inputs.ids, inputs.mask, { maxNewTokens: T, ...sampling, stopTokenIds, padId: PAD });
  model.forward = forward;
  return { out, sizes };
}

describe('generate: stopped rows leave the decoding batch', () => {
  setNumThreads(1);
  const model = tinyModel();

  // sampling as RL runs it (temperature, top-p), top-k with a repetition penalty, greedy
  const samplings: [string, Partial<GenerateOptions>][] = [
    ['temperature 0.9, top-p 0.95', { temperature: 0.9, topP: 0.95 }],
    ['top-k 4, repetition penalty 1.3', { topK: 4, repetitionPenalty: 1.3 }],
    ['greedy', { greedy: true }],
  ];
  for (const [name, sampling] of samplings) for (const seed of name === 'greedy' ? [1] : [1, 2, 3]) {
    it(`${name}, seed ${seed}: the same tokens and log-probs (1e-5) as the full batch, each row cut at its stop token; forwards only on running rows`, () => {
      const full = run(model, seed, [], undefined, sampling); // never stops: every forward has all 8 rows
      const fullTokens = full.out.sequences.narrow(1, L, T).toArray() as number[][];
      // the stop token: STOP, or for greedy decoding (which repeats itself) the token whose first occurrences end the most rows at different steps
      const endsAt = (stop: number) => fullTokens.map((row) => (row.includes(stop) ? row.indexOf(stop) + 1 : T));
      const varied = (stop: number) => new Set(endsAt(stop).filter((e) => e < T)).size;
      const stopId = sampling.greedy ? Array.from({ length: 12 }, (_, i) => i).reduce((a, c) => (varied(c) > varied(a) ? c : a)) : STOP;
      const cut = run(model, seed, [stopId], undefined, sampling);
      const cutTokens = cut.out.sequences.toArray() as number[][];
      const fullLp = full.out.logProbs.toArray() as number[][];
      const cutLp = cut.out.logProbs.toArray() as number[][];
      const cutMask = cut.out.responseMask.toArray() as number[][];
      const ends = endsAt(stopId); // tokens kept, the stop included
      const width = (cutTokens[0] as number[]).length - L;
      expect(width).toBe(Math.max(...ends));
      for (const [r, end] of ends.entries()) {
        const want = [...(fullTokens[r] as number[]).slice(0, end), ...Array<number>(width - end).fill(PAD)];
        expect((cutTokens[r] as number[]).slice(L)).toEqual(want);
        expect(cutMask[r]).toEqual(want.map((_, j) => (j < end ? 1 : 0)));
        expectAllClose((cutLp[r] as number[]).slice(0, end), (fullLp[r] as number[]).slice(0, end), { atol: 1e-5, rtol: 0 });
        // 0 times the pad's log-prob, as when the stopped rows were sampled with the others: -0
        expect((cutLp[r] as number[]).slice(end).every((x) => Object.is(x, -0))).toBe(true);
      }
      // rows stop at different steps, so the batch shrinks more than once (greedy decoding: at least once)
      expect(new Set(ends.filter((e) => e < width)).size).toBeGreaterThanOrEqual(sampling.greedy ? 1 : 2);
      expect(full.sizes).toEqual(Array<number>(T).fill(8));
      // the prompt pass, then one forward per later step on the rows still running after it
      const running = Array.from({ length: width - 1 }, (_, t) => ends.filter((e) => e > t + 1).length);
      expect(cut.sizes).toEqual([8, ...running]);
      // the cached, shrinking batch gives the log-probs a full teacher-forced pass gives
      const teacher = sequenceLogProbs(model, cut.out.sequences, cut.out.attentionMask).narrow(1, L - 1, width).mul(cut.out.responseMask.float());
      expectAllClose(cut.out.logProbs, teacher.toArray() as number[][], { atol: 1e-5, rtol: 0 });
    });
  }

  it('a prompt repeated in the batch runs once in the prompt pass; every sample continues from its own copy of the cache', () => {
    const rows = [[5, 6, 7], [5, 6, 7], [0, 9, 4], [5, 6, 7], [0, 9, 4], [0, 0, 8]];
    const repeated = { ids: tensor(rows, { dtype: 'int64' }), mask: tensor(rows.map((r) => r.map((t) => (t === 0 ? 0 : 1))), { dtype: 'int64' }) };
    const { out, sizes } = run(model, 5, [], repeated);
    expect(sizes[0]).toBe(3); // three distinct prompts
    expect(sizes.slice(1)).toEqual(Array<number>(T - 1).fill(6));
    const teacher = sequenceLogProbs(model, out.sequences, out.attentionMask).narrow(1, 2, T);
    expectAllClose(out.logProbs, teacher.toArray() as number[][], { atol: 1e-5, rtol: 0 });
    // the samples of one prompt are drawn apart
    const responses = (out.sequences.narrow(1, 3, T).toArray() as number[][]).map((r) => r.join(','));
    expect(new Set([responses[0], responses[1], responses[3]]).size).toBeGreaterThan(1);
  });
});

describe('generate: processLogits', () => {
  it('a processor forcing the stop token at step stops[r] − 1 of row r (and banning it elsewhere) ends every row there; log-probs stay the model\'s own', () => {
    const model = tinyModel();
    const stops = [3, 1, 7, 5, 14, 2, 9, 6];
    const isStop = tensor([Array.from({ length: 12 }, (_, j) => j === STOP)]);
    const processLogits = (logits: Tensor, t: number) => logits.maskedFill(tensor(stops.map((s) => [s - 1 === t])).ne(isStop), -Infinity);
    manualSeed(4);
    const out = generate(model, ids, mask, { maxNewTokens: T, stopTokenIds: [STOP], padId: PAD, processLogits });
    const tokens = out.sequences.narrow(1, L, T).toArray() as number[][];
    for (const [r, s] of stops.entries()) {
      const row = tokens[r] as number[];
      expect(row.indexOf(STOP)).toBe(s - 1);
      expect(row.slice(s).every((x) => x === PAD)).toBe(true);
    }
    expect((out.responseMask.toArray() as number[][]).map((row) => row.reduce((a, b) => a + b, 0))).toEqual(stops);
    const teacher = sequenceLogProbs(model, out.sequences, out.attentionMask).narrow(1, L - 1, T).mul(out.responseMask.float());
    expectAllClose(out.logProbs, teacher.toArray() as number[][], { atol: 1e-5, rtol: 0 });
  });
});

describe('sequenceLogProbs of the last tokens only', () => {
  it('equals the slice of the full log-probs and gradients (1e-6; gradients 1e-5 relative too), with the last layer and the LM head on those positions alone', () => {
    const model = tinyModel().train();
    const wte = model.parameters()[0] as Tensor;
    const grads = (keep: number) =>
      tidy(() => {
        wte.clearGrad();
        // prompts then 5 more tokens: (8, L + 5), the log-probs of the last 3
        const seq = cat([ids, ids.narrow(1, 0, 1).add(1).repeat([1, 5])], 1);
        const m = cat([mask, ones([8, 5], { dtype: 'int64' })], 1);
        const lp = keep > 0 ? sequenceLogProbs(model, seq, m, keep) : sequenceLogProbs(model, seq, m).narrow(1, L + 5 - 1 - 3, 3);
        lp.mul(tensor([[1, -2, 3]])).sum().backward();
        return { lp: lp.toArray() as number[][], grad: (wte.grad as Tensor).toArray() as number[][] };
      });
    const full = grads(0);
    const last = grads(3);
    expectAllClose(tensor(last.lp), full.lp, { atol: 1e-6, rtol: 0 });
    // the last layer's weight gradients sum over fewer positions (the others contribute exact zeros), in another order;
    // BLAS's other blocking for fewer rows moves activations by an ulp, which GELU's rounding and the tied head's sum
    // over positions carry into the embedding gradient (worst 5e-6 relative with the vectorised GELU, 3e-6 with ATen's)
    expectAllClose(tensor(last.grad), full.grad, { atol: 1e-6, rtol: 1e-5 });
    model.eval();
  });
});
