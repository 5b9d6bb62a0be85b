// LLaVA-style folders written by reference/vision.py (CLIP + GPT-2, SigLIP + Qwen2): logits to 1e-4, LM-loss gradients, the splice's checks, HF round trips.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageTokenError, LlavaScoreModel, loadLlava, loadLlavaScoreModel, ModelConfigError, readSafetensors, saveLlava, writeSafetensors, type LlavaModel } from '../../src/models/index.js';
import { crossEntropy, noGrad, tensor, type Tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

interface LlavaGolden {
  inputIds: number[][];
  attentionMask: number[][];
  pixels: number[][][][];
  logits: number[][][];
  loss: number;
  grads: Record<string, number[]>;
  greedy: number[][];
  score: { head: Record<string, number[]>; scores: number[][]; endScores: number[]; loss: number; grads: Record<string, number[]> };
}
const golden = JSON.parse(readFileSync('reference/golden/llava.json', 'utf8')) as Record<string, LlavaGolden>;
const IMAGE = 40;

function expectLogits(model: LlavaModel, ref: LlavaGolden): void {
  const logits = noGrad(() => model.eval().forward(tensor(ref.inputIds, { dtype: 'int64' }), tensor(ref.attentionMask, { dtype: 'int64' }), tensor(ref.pixels)).logits);
  ref.attentionMask.forEach((row, b) =>
    row.forEach((m, t) => {
      if (m) expectAllClose(logits.select(0, b).select(0, t), ref.logits[b]?.[t] as number[], { atol: 1e-4, rtol: 1e-4 });
    }),
  );
}

for (const name of ['tiny-llava-gpt2', 'tiny-llava-qwen2'] as const) {
  const ref = golden[name] as LlavaGolden;
  const dir = `reference/golden/${name}`;
  describe(name, () => {
    const loaded = loadLlava(dir);
    const model = loaded.model;

    it('loads the HF folder (vision_config, text_config, safetensors, tokenizer with the image token)', () => {
      expect(loaded.tokenizer?.encode('w3 <image> w4')).toEqual([7, IMAGE, 8]);
      expect(model.imageTokensPerImage).toBe(4);
    });

    it('matches the reference logits at every non-pad position (atol 1e-4), image features spliced at the image tokens', () => {
      expectLogits(model, ref);
    });

    it('matches the reference LM loss (image and pad positions masked) and gradients into the projector, the tower and the text model', () => {
      model.train();
      for (const p of model.parameters()) p.clearGrad();
      const ids = tensor(ref.inputIds, { dtype: 'int64' });
      const l = ids.shape[1] as number;
      const logits = model.forward(ids, tensor(ref.attentionMask, { dtype: 'int64' }), tensor(ref.pixels)).logits;
      const targets = ids.narrow(1, 1, l - 1).reshape([-1]);
      const per = crossEntropy(logits.narrow(1, 0, l - 1).reshape([-1, logits.shape[2] as number]), targets.maskedFill(targets.eq(IMAGE), 0), { reduction: 'none' });
      const w = tensor(ref.attentionMask, { dtype: 'int64' }).narrow(1, 1, l - 1).reshape([-1]).float().mul(targets.ne(IMAGE).float());
      const loss = per.mul(w).sum().div(w.sum());
      expect(loss.item()).toBeCloseTo(ref.loss, 5);
      loss.backward();
      const params = model.namedParameters();
      for (const [n, g] of Object.entries(ref.grads)) expectAllClose(params.get(n)?.grad as Tensor, g, { atol: 1e-5, rtol: 1e-4 });
    });

    it('a multimodal reward model on the same weights (plus a score head) matches the reference scores and Bradley-Terry gradients', () => {
      const rm = LlavaScoreModel.fromLlava(model, 'reward');
      const params = rm.namedParameters();
      expect([...params.keys()].filter((k) => k.includes('lm_head'))).toEqual([]);
      noGrad(() => {
        for (const [n, v] of Object.entries(ref.score.head)) params.get(n)?.copy_(tensor(v).reshape(params.get(n)?.shape ?? []));
      });
      rm.train();
      for (const p of rm.parameters()) p.clearGrad();
      const { scores, endScores } = rm.forward(tensor(ref.inputIds, { dtype: 'int64' }), tensor(ref.attentionMask, { dtype: 'int64' }), tensor(ref.pixels));
      ref.attentionMask.forEach((row, b) =>
        row.forEach((m, t) => {
          if (m) expectAllClose(scores.select(0, b).select(0, t), [ref.score.scores[b]?.[t] as number], { atol: 1e-4, rtol: 1e-4 });
        }),
      );
      expectAllClose(endScores, ref.score.endScores, { atol: 1e-4, rtol: 1e-4 });
      const loss = endScores.select(0, 0).sub(endScores.select(0, 1)).logsigmoid().neg();
      expect(loss.item()).toBeCloseTo(ref.score.loss, 5);
      loss.backward();
      for (const [n, g] of Object.entries(ref.score.grads)) expectAllClose(params.get(n)?.grad as Tensor, g, { atol: 1e-5, rtol: 1e-4 });
    });

    it('a multimodal cost model with a severity head saves and reloads (type, levels, statistics, scores); each loader refuses the other kind', () => {
      const cm = LlavaScoreModel.fromLlava(model, 'cost', 4);
      cm.languageModel.stats = { count: 10, mean: 0.5, var: 2 };
      const out = mkdtempSync(join(tmpdir(), 'llava-cost-'));
      saveLlava(out, cm);
      const again = loadLlavaScoreModel(out).model;
      expect([again.languageModel.scoreType, again.languageModel.ordinalLevels, again.languageModel.stats]).toEqual(['cost', 4, { count: 10, mean: 0.5, var: 2 }]);
      const args = [tensor(ref.inputIds, { dtype: 'int64' }), tensor(ref.attentionMask, { dtype: 'int64' }), tensor(ref.pixels)] as const;
      const [a, b] = noGrad(() => [cm.eval().forward(...args).endScores, again.eval().forward(...args).endScores]);
      expectAllClose(b as Tensor, (a as Tensor).toNumbers(), { atol: 0, rtol: 0 });
      expect(again.languageModel.cutpoints().shape).toEqual([3]);
      expect(() => loadLlava(out)).toThrow(/cost model, not a LLaVA LM/);
      expect(() => loadLlavaScoreModel(dir)).toThrow(ModelConfigError);
    });

    it('greedy generation (images spliced in the prompt pass, KV cache after it) reproduces the reference, which recomputes in full', () => {
      const ids = tensor(ref.inputIds, { dtype: 'int64' });
      const out = model.eval().generate(ids, tensor(ref.attentionMask, { dtype: 'int64' }), tensor(ref.pixels), { maxNewTokens: 5, greedy: true, padId: 0 });
      expect(out.sequences.narrow(1, ids.shape[1] as number, 5).toArray()).toEqual(ref.greedy);
      // two rows with the same tokens but different images are not merged into one prompt pass
      const same = tensor([ref.inputIds[1], ref.inputIds[1]] as number[][], { dtype: 'int64' });
      const twice = model.generate(same, tensor([[1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1]], { dtype: 'int64' }), tensor(ref.pixels), { maxNewTokens: 1, greedy: true, padId: 0 });
      const [a, b] = twice.logProbs.toNumbers();
      expect(a).not.toBeCloseTo(b as number, 6);
    });

    it('refuses image tokens that do not match the images, naming both counts', () => {
      const ids = tensor(ref.inputIds, { dtype: 'int64' });
      const mask = tensor(ref.attentionMask, { dtype: 'int64' });
      const one = tensor(ref.pixels).narrow(0, 0, 1);
      expect(() => model.forward(ids, mask, one)).toThrow(/8 image tokens \(id 40\) in the input but 1 image\(s\) x 4 features/);
      expect(() => model.forward(ids, mask, null)).toThrow(ImageTokenError);
    });

    it('saves and reloads to the same logits, and loads the transformers >= 4.52 layout (model.*, lm_head) too', () => {
      const out = mkdtempSync(join(tmpdir(), 'llava-'));
      saveLlava(out, model, loaded.tokenizer ? { tokenizer: loaded.tokenizer } : {});
      expectLogits(loadLlava(out).model, ref);
      const prefix = name === 'tiny-llava-gpt2' ? 'language_model.transformer.' : 'language_model.model.';
      const { tensors } = readSafetensors(join(out, 'model.safetensors'));
      const renamed = new Map(
        [...tensors].map(([n, t]) => [
          n.startsWith(prefix) ? `model.language_model.${n.slice(prefix.length)}` : n.startsWith('language_model.lm_head.') ? n.slice('language_model.'.length) : `model.${n}`,
          t,
        ]),
      );
      expect([...renamed.keys()].some((n) => n.startsWith('model.language_model.'))).toBe(true);
      writeSafetensors(join(out, 'model.safetensors'), renamed);
      expectLogits(loadLlava(out).model, ref);
    });
  });
}
