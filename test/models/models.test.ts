// GPT-2 and Llama against plain-PyTorch references (reference/models.py): logits, greedy decoding, gradients, HF round trips.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CausalLM, generate, loadPretrained, savePretrained, ScoreModel, sequenceLogProbs, StateDictError } from '../../src/models/index.js';
import { crossEntropy, manualSeed, noGrad, tensor, type Tensor } from '../../src/torch/index.js';
import { expectAllClose, type Nested } from '../helpers/allclose.js';

const golden = JSON.parse(readFileSync('reference/golden/models.json', 'utf8')) as Record<string, unknown> & {
  inputIds: number[][];
  attentionMask: number[][];
};
const ids = () => tensor(golden.inputIds, { dtype: 'int64' });
const mask = () => tensor(golden.attentionMask, { dtype: 'int64' });

for (const name of ['tiny-gpt2', 'tiny-llama'] as const) {
  const ref = golden[name] as { logits: number[][][]; greedy: number[][]; loss: number; grads: Record<string, number[]> };
  const dir = `reference/golden/${name}`;
  describe(name, () => {
    const loaded = loadPretrained(dir);
    const model = loaded.model as CausalLM;

    it('loads through the public HF path with its tokenizer', () => {
      expect(model).toBeInstanceOf(CausalLM);
      expect(loaded.tokenizer?.eosId).toBe(1);
    });

    it('matches reference logits at every non-pad position (atol 1e-4), left padding included', () => {
      const logits = noGrad(() => model.eval().forward(ids(), mask()).logits);
      golden.attentionMask.forEach((row, b) =>
        row.forEach((m, t) => {
          if (m) expectAllClose(logits.select(0, b).select(0, t), ref.logits[b]?.[t] as number[], { atol: 1e-4, rtol: 1e-4 });
        }),
      );
    });

    it('greedy generation with the KV cache reproduces the reference (computed without a cache)', () => {
      const out = generate(model, ids(), mask(), { maxNewTokens: 6, greedy: true, padId: 0 });
      expect(out.sequences.narrow(1, 6, 6).toArray()).toEqual(ref.greedy);
      // and the log-probs it reports equal a full recomputation
      const full = sequenceLogProbs(model, out.sequences, out.attentionMask).narrow(1, 5, 6);
      expectAllClose(out.logProbs, full.toArray() as Nested, { atol: 1e-5, rtol: 1e-5 });
    });

    it('matches the reference masked LM loss and its gradients', () => {
      model.train();
      for (const p of model.parameters()) p.clearGrad();
      const logits = model.forward(ids(), mask()).logits;
      const v = logits.shape[2] as number;
      const per = crossEntropy(logits.narrow(1, 0, 5).reshape([-1, v]), ids().narrow(1, 1, 5).reshape([-1]), { reduction: 'none' });
      const w = mask().narrow(1, 1, 5).reshape([-1]).float();
      const loss = per.mul(w).sum().div(w.sum());
      expect(loss.item()).toBeCloseTo(ref.loss, 5);
      loss.backward();
      const params = model.namedParameters();
      for (const [n, g] of Object.entries(ref.grads)) {
        const p = params.get(n) ?? (n === 'transformer.wte.weight' ? params.get(n) : undefined);
        expect(p, n).toBeDefined();
        expectAllClose(p?.grad as Tensor, g, { atol: 1e-5, rtol: 1e-4 });
      }
    });

    it('saves and reloads bit-identically', () => {
      const out = mkdtempSync(join(tmpdir(), 'hf-'));
      savePretrained(out, model, loaded.tokenizer ? { tokenizer: loaded.tokenizer } : {});
      const again = loadPretrained(out).model as CausalLM;
      const a = model.namedParameters();
      for (const [n, p] of again.namedParameters()) expect(Buffer.from(p.toBuffer()).equals(Buffer.from((a.get(n) as Tensor).toBuffer())), n).toBe(true);
      const out2 = mkdtempSync(join(tmpdir(), 'hf-'));
      savePretrained(out2, again);
      expect(readFileSync(join(out2, 'model.safetensors')).equals(readFileSync(join(out, 'model.safetensors')))).toBe(true);
    });
  });
}

describe('generation options', () => {
  const model = loadPretrained('reference/golden/tiny-gpt2').model as CausalLM;
  it('samples at temperature T from logits / T (and at temperature 1 from the logits as they are)', () => {
    const draw = (temperature: number, processLogits?: (l: Tensor) => Tensor) => {
      manualSeed(9);
      return generate(model, ids(), mask(), { maxNewTokens: 8, temperature, padId: 0, ...(processLogits ? { processLogits } : {}) }).sequences.toArray();
    };
    expect(draw(3)).toEqual(draw(1, (l) => l.div(3)));
    expect(draw(1)).toEqual(draw(1, (l) => l.div(1)));
    expect(draw(3)).not.toEqual(draw(1));
  });
  it('is deterministic under a seed, and stops at a stop token with a response mask', () => {
    manualSeed(5);
    const a = generate(model, ids(), mask(), { maxNewTokens: 8, temperature: 1, padId: 0, stopTokenIds: [7] });
    manualSeed(5);
    const b = generate(model, ids(), mask(), { maxNewTokens: 8, temperature: 1, padId: 0, stopTokenIds: [7] });
    expect(a.sequences.toArray()).toEqual(b.sequences.toArray());
    const toks = a.sequences.narrow(1, 6, a.responseMask.shape[1] as number).toArray() as number[][];
    const m = a.responseMask.toArray() as number[][];
    toks.forEach((row, i) => {
      const stop = row.indexOf(7);
      row.forEach((tok, t) => {
        const inside = stop < 0 || t <= stop;
        expect(m[i]?.[t]).toBe(inside ? 1 : 0);
        if (!inside) expect(tok).toBe(0);
      });
    });
  });
  it('top-k 1 equals greedy; top-p keeps only the most likely tokens', () => {
    const g = generate(model, ids(), mask(), { maxNewTokens: 5, greedy: true, padId: 0 });
    manualSeed(1);
    const k1 = generate(model, ids(), mask(), { maxNewTokens: 5, topK: 1, padId: 0 });
    expect(k1.sequences.toArray()).toEqual(g.sequences.toArray());
    manualSeed(2);
    const p = generate(model, ids(), mask(), { maxNewTokens: 5, topP: 1e-6, padId: 0 });
    expect(p.sequences.toArray()).toEqual(g.sequences.toArray());
  });
});

describe('score model', () => {
  const lm = loadPretrained('reference/golden/tiny-gpt2').model as CausalLM;
  it('gives per-token scores and the score of the last non-pad token (right padding)', () => {
    const sm = ScoreModel.fromCausalLM(lm, 'reward');
    const x = tensor([[5, 6, 7, 0, 0], [5, 6, 7, 8, 9]], { dtype: 'int64' });
    const m = tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], { dtype: 'int64' });
    const { scores, endScores } = noGrad(() => sm.forward(x, m));
    expect(scores.shape).toEqual([2, 5]);
    const s = scores.toArray() as number[][];
    expect(endScores.toNumbers()[0]).toBeCloseTo(s[0]?.[2] as number, 6);
    expect(endScores.toNumbers()[1]).toBeCloseTo(s[1]?.[4] as number, 6);
    // the backbone was copied from the LM: its hidden states equal the LM's
    const h1 = noGrad(() => sm.backbone.forward(x, m).hidden);
    const h2 = noGrad(() => lm.backbone.forward(x, m).hidden);
    expectAllClose(h1, h2.toArray() as Nested, { atol: 0 });
  });
  it('normalises by score type: cost scale-only keeps signs, reward affine centres', () => {
    const cost = ScoreModel.fromCausalLM(lm, 'cost');
    cost.updateStats([2, 4, 6, 8]);
    const s = tensor([-1, 3]);
    const std = Math.sqrt(5);
    expectAllClose(cost.normalize(s), [-1 / std, 3 / std], { atol: 1e-6 });
    const reward = ScoreModel.fromScoreModel(cost, 'reward');
    expectAllClose(reward.normalize(s), [(-1 - 5) / std, (3 - 5) / std], { atol: 1e-6 });
    expect(ScoreModel.fromScoreModel(cost, 'critic').normalize(s).toNumbers()).toEqual([-1, 3]);
  });
  it('round-trips through an HF folder with its score type and statistics', () => {
    const sm = ScoreModel.fromCausalLM(lm, 'cost');
    sm.updateStats([1, 2, 3]);
    const dir = mkdtempSync(join(tmpdir(), 'score-'));
    savePretrained(dir, sm);
    const back = loadPretrained(dir).model as ScoreModel;
    expect(back.scoreType).toBe('cost');
    expect(back.stats).toEqual(sm.stats);
  });
});

describe('ordinal (severity) head', () => {
  const lm = loadPretrained('reference/golden/tiny-gpt2').model as CausalLM;
  const x = tensor([[5, 6, 7, 0], [5, 6, 7, 8]], { dtype: 'int64' });
  const m = tensor([[1, 1, 1, 0], [1, 1, 1, 1]], { dtype: 'int64' });
  it('round-trips through an HF folder: config.json names the levels, model.safetensors holds the K−2 cutpoint log-gaps', () => {
    const sm = ScoreModel.fromCausalLM(lm, 'cost', 4);
    noGrad(() => sm.stateDict()['score_head.cutpoint_log_gaps']?.copy_(tensor([0.3, -0.5])));
    const dir = mkdtempSync(join(tmpdir(), 'severity-'));
    savePretrained(dir, sm);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).safealign_ordinal_levels).toBe(4);
    const back = loadPretrained(dir).model as ScoreModel;
    expect(back.ordinalLevels).toBe(4);
    expectAllClose(back.cutpoints(), [0, Math.exp(0.3), Math.exp(0.3) + Math.exp(-0.5)], { atol: 1e-6 });
    const probs = noGrad(() => back.levelProbs(back.forward(x, m).endScores));
    expect(probs.shape).toEqual([2, 4]);
    expectAllClose(probs, noGrad(() => sm.levelProbs(sm.forward(x, m).endScores)).toArray() as Nested, { atol: 0 });
    expectAllClose(probs.sum(1), [1, 1], { atol: 1e-6 });
  });
  it('a critic copied from a severity model has a plain head; a cost model becomes a severity model with fresh cutpoints', () => {
    const sev = ScoreModel.fromCausalLM(lm, 'cost', 4);
    const critic = ScoreModel.fromScoreModel(sev, 'critic');
    expect(critic.ordinalLevels).toBe(0);
    expect(Object.keys(critic.stateDict())).not.toContain('score_head.cutpoint_log_gaps');
    expect(() => critic.cutpoints()).toThrow(/no ordinal head/);
    const cost = ScoreModel.fromCausalLM(lm, 'cost');
    const grown = ScoreModel.fromScoreModel(cost, 'cost', 3);
    expectAllClose(grown.cutpoints(), [0, 1], { atol: 1e-6 });
    expectAllClose(noGrad(() => grown.forward(x, m).endScores), noGrad(() => cost.forward(x, m).endScores).toNumbers(), { atol: 0 });
  });
});

describe('loading errors', () => {
  it('names missing tensors and shape mismatches', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-'));
    const cfg = JSON.parse(readFileSync('reference/golden/tiny-gpt2/config.json', 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, n_layer: 3 }));
    writeFileSync(join(dir, 'model.safetensors'), readFileSync('reference/golden/tiny-gpt2/model.safetensors'));
    expect(() => loadPretrained(dir)).toThrow(StateDictError);
    expect(() => loadPretrained(dir)).toThrow(/missing transformer\.h\.2\./);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, n_embd: 32, n_head: 2 }));
    expect(() => loadPretrained(dir)).toThrow(/has shape \[40,16\] but the model expects \[40,32\]/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'bert' }));
    expect(() => loadPretrained(dir)).toThrow(/unsupported architecture/);
  });
});
