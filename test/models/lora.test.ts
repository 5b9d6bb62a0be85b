// LoRA against PyTorch (reference/lora.py): a LoRA linear in both layouts, tiny GPT-2 / Llama with peft adapters; peft save -> load -> merge.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyLora,
  CausalLM,
  Linear,
  loadAdapter,
  loadPretrained,
  LoraError,
  mergeLora,
  saveAdapter,
  ScoreModel,
  type WeightLayout,
} from '../../src/models/index.js';
import { readSafetensors } from '../../src/models/safetensors.js';
import { crossEntropy, manualSeed, noGrad, tensor, type Tensor } from '../../src/torch/index.js';
import { expectAllClose, type Nested } from '../helpers/allclose.js';

type Arr = number[] | number[][] | number[][][];
interface LinearCase {
  nIn: number;
  nOut: number;
  r: number;
  alpha: number;
  x: Arr;
  weight: Arr;
  bias: Arr;
  loraA: Arr;
  loraB: Arr;
  g: Arr;
  y: Arr;
  grads: Record<'x' | 'weight' | 'bias' | 'loraA' | 'loraB', Arr>;
}
interface ModelCase {
  logits: number[][][];
  loss: number;
  grads: Record<string, number[]>;
}
const golden = JSON.parse(readFileSync('reference/golden/lora.json', 'utf8')) as { linear: Record<WeightLayout, LinearCase>; gpt2: ModelCase; llama: ModelCase };
const models = JSON.parse(readFileSync('reference/golden/models.json', 'utf8')) as { inputIds: number[][]; attentionMask: number[][] };
const ids = () => tensor(models.inputIds, { dtype: 'int64' });
const mask = () => tensor(models.attentionMask, { dtype: 'int64' });

/** Logits at the non-pad positions, flattened in (b, t) order. */
function validLogits(logits: Tensor): number[] {
  const out: number[] = [];
  models.attentionMask.forEach((row, b) => row.forEach((m, t) => m && out.push(...(logits.select(0, b).select(0, t).toArray() as number[]))));
  return out;
}
function goldenValid(ref: number[][][]): number[] {
  return models.attentionMask.flatMap((row, b) => row.flatMap((m, t) => (m ? (ref[b]?.[t] as number[]) : [])));
}
const logitsOf = (m: CausalLM) => noGrad(() => validLogits(m.eval().forward(ids(), mask()).logits));

describe('LoRA linear (peft forward) against PyTorch', () => {
  for (const layout of ['in-out', 'out-in'] as const) {
    it(`${layout}: output and gradients of x, W, b, A, B (atol 1e-5)`, () => {
      const c = golden.linear[layout];
      const lin = new Linear(c.nIn, c.nOut, layout, { bias: true, std: 1 });
      lin.attachLora({ r: c.r, alpha: c.alpha, dropout: 0 });
      const p = lin.namedParameters();
      noGrad(() => {
        p.get('weight')?.copy_(tensor(c.weight));
        p.get('bias')?.copy_(tensor(c.bias));
        p.get('lora_A.weight')?.copy_(tensor(c.loraA));
        p.get('lora_B.weight')?.copy_(tensor(c.loraB));
      });
      const x = tensor(c.x, { requiresGrad: true });
      const y = lin.forward(x);
      expectAllClose(y, c.y, { atol: 1e-5, rtol: 1e-5 });
      y.mul(tensor(c.g)).sum().backward();
      expectAllClose(x.grad as Tensor, c.grads.x, { atol: 1e-5, rtol: 1e-5 });
      expectAllClose(p.get('weight')?.grad as Tensor, c.grads.weight, { atol: 1e-5, rtol: 1e-5 });
      expectAllClose(p.get('bias')?.grad as Tensor, c.grads.bias, { atol: 1e-5, rtol: 1e-5 });
      expectAllClose(p.get('lora_A.weight')?.grad as Tensor, c.grads.loraA, { atol: 1e-5, rtol: 1e-5 });
      expectAllClose(p.get('lora_B.weight')?.grad as Tensor, c.grads.loraB, { atol: 1e-5, rtol: 1e-5 });
    });
  }
});

for (const [name, family] of [['tiny-gpt2', 'gpt2'], ['tiny-llama', 'llama']] as const) {
  const ref = golden[family];
  const adapterDir = `reference/golden/lora-${family}`;
  describe(`${name} with a peft adapter written by PyTorch`, () => {
    it('loads it and matches the reference logits, LM loss and adapter gradients; the base stays frozen', () => {
      const model = loadPretrained(`reference/golden/${name}`).model as CausalLM;
      const lora = loadAdapter(adapterDir, model);
      expect(lora.r).toBe(2);
      expectAllClose(logitsOf(model), goldenValid(ref.logits), { atol: 1e-4, rtol: 1e-4 });
      model.train();
      const logits = model.forward(ids(), mask()).logits;
      const v = logits.shape[2] as number;
      const per = crossEntropy(logits.narrow(1, 0, 5).reshape([-1, v]), ids().narrow(1, 1, 5).reshape([-1]), { reduction: 'none' });
      const w = mask().narrow(1, 1, 5).reshape([-1]).float();
      const loss = per.mul(w).sum().div(w.sum());
      expect(loss.item()).toBeCloseTo(ref.loss, 5);
      loss.backward();
      const params = model.namedParameters();
      for (const [n, g] of Object.entries(ref.grads)) expectAllClose(params.get(n)?.grad as Tensor, g, { atol: 1e-5, rtol: 1e-4 });
      const trainable = [...params].filter(([, p]) => p.requiresGrad).map(([n]) => n);
      expect(trainable.length).toBeGreaterThan(0);
      expect(trainable.every((n) => /\.lora_[AB]\.weight$/.test(n))).toBe(true);
      for (const [n, p] of params) if (!p.requiresGrad) expect(p.grad, n).toBeNull();
    });

    it('save in peft layout -> load into a fresh base -> merge gives the same logits as the unmerged model', () => {
      const model = loadPretrained(`reference/golden/${name}`).model as CausalLM;
      const lora = loadAdapter(adapterDir, model);
      const unmerged = logitsOf(model);
      const dir = mkdtempSync(join(tmpdir(), 'lora-'));
      saveAdapter(dir, model, lora, { baseModel: name });
      const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, fan_in_fan_out: family === 'gpt2', target_modules: lora.targetModules, bias: 'none' });
      const keys = [...readSafetensors(join(dir, 'adapter_model.safetensors')).tensors.keys()].sort();
      const refKeys = [...readSafetensors(join(adapterDir, 'adapter_model.safetensors')).tensors.keys()].sort();
      expect(keys).toEqual(refKeys);

      const fresh = loadPretrained(`reference/golden/${name}`).model as CausalLM;
      const base = logitsOf(fresh);
      loadAdapter(dir, fresh);
      expectAllClose(logitsOf(fresh), unmerged, { atol: 1e-6, rtol: 1e-6 });
      expect(mergeLora(fresh)).toBe(family === 'gpt2' ? 4 : 6);
      expect([...fresh.namedParameters().keys()].some((n) => n.includes('lora_'))).toBe(false);
      expect(fresh.trainableParameters().length).toBe(fresh.parameters().length);
      expectAllClose(logitsOf(fresh), unmerged, { atol: 1e-5, rtol: 1e-5 });
      // the adapter changes the model: merged logits are not the base's
      expect(Math.max(...unmerged.map((x, i) => Math.abs(x - (base[i] as number))))).toBeGreaterThan(1e-2);
    });
  });
}

describe('applyLora', () => {
  it('starts as the base model (B = 0), freezes the base and keeps a score model\'s head trainable and saved (peft modules_to_save)', () => {
    manualSeed(3);
    const lm = loadPretrained('reference/golden/tiny-gpt2').model as CausalLM;
    const score = ScoreModel.fromCausalLM(lm, 'reward');
    const before = noGrad(() => score.eval().forward(ids(), mask()).endScores.toArray() as number[]);
    const lora = applyLora(score, { r: 4, alpha: 8, dropout: 0.1 });
    expect(lora.targetModules).toEqual(['c_attn']);
    expectAllClose(noGrad(() => score.eval().forward(ids(), mask()).endScores), before, { atol: 1e-6 });
    const trainable = [...score.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n).sort();
    expect(trainable).toEqual([
      'score_head.bias',
      'score_head.weight',
      'transformer.h.0.attn.c_attn.lora_A.weight',
      'transformer.h.0.attn.c_attn.lora_B.weight',
      'transformer.h.1.attn.c_attn.lora_A.weight',
      'transformer.h.1.attn.c_attn.lora_B.weight',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'lora-score-'));
    saveAdapter(dir, score, lora);
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ task_type: 'SEQ_CLS', modules_to_save: ['score_head'] });
    expect([...readSafetensors(join(dir, 'adapter_model.safetensors')).tensors.keys()]).toContain('base_model.model.score_head.weight');
    // train the adapter and the head a little, save, and load into a score model with another random head: same scores, before and after merging
    score.train();
    score.forward(ids(), mask()).endScores.sum().backward();
    noGrad(() => {
      for (const p of score.trainableParameters()) p.copy_(p.sub((p.grad as Tensor).mul(0.5)));
    });
    const trained = noGrad(() => score.eval().forward(ids(), mask()).endScores.toArray() as number[]);
    expect(Math.max(...trained.map((x, i) => Math.abs(x - (before[i] as number))))).toBeGreaterThan(1e-3);
    saveAdapter(dir, score, lora);
    manualSeed(4);
    const other = ScoreModel.fromCausalLM(loadPretrained('reference/golden/tiny-gpt2').model as CausalLM, 'reward');
    loadAdapter(dir, other);
    expectAllClose(noGrad(() => other.eval().forward(ids(), mask()).endScores), trained, { atol: 1e-6 });
    mergeLora(other);
    expectAllClose(noGrad(() => other.eval().forward(ids(), mask()).endScores), trained, { atol: 1e-5 });
  });

  it('dropout acts in training mode only', () => {
    const lin = new Linear(8, 4, 'out-in', { bias: false, std: 0.5 });
    lin.attachLora({ r: 2, alpha: 2, dropout: 0.5 });
    noGrad(() => lin.namedParameters().get('lora_B.weight')?.fill_(1));
    const x = tensor(Array.from({ length: 32 }, (_, i) => Math.sin(i)), { shape: [4, 8] });
    const evalOut = noGrad(() => lin.eval().forward(x).toArray() as Nested);
    expectAllClose(noGrad(() => lin.eval().forward(x)), evalOut, { atol: 0 });
    const trainOut = noGrad(() => lin.train().forward(x).toArray() as number[][]);
    expect(trainOut.flat().some((v, i) => Math.abs(v - ((evalOut as number[][]).flat()[i] as number)) > 1e-3)).toBe(true);
  });

  it('names the projections when no target matches', () => {
    const lm = loadPretrained('reference/golden/tiny-llama').model as CausalLM;
    expect(() => applyLora(lm, { r: 2, alpha: 2, dropout: 0, targetModules: ['c_attn'] })).toThrow(LoraError);
    expect(() => applyLora(lm, { r: 2, alpha: 2, dropout: 0, targetModules: ['c_attn'] })).toThrow(/q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/);
  });
});
