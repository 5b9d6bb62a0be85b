// CLIP and SigLIP vision towers against plain-PyTorch references (reference/vision.py): outputs and gradients of a scalar of them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadVisionTower, parseVisionConfig, ModelConfigError } from '../../src/models/index.js';
import { noGrad, tensor, type Tensor } from '../../src/torch/index.js';
import { expectAllClose, type Nested } from '../helpers/allclose.js';

interface TowerGolden {
  pixels: number[][][][];
  lastHidden: number[][][];
  weightLast: number[][][];
  pooled?: number[][];
  weightPooled?: number[][];
  scalar: number;
  grads: Record<string, number[]>;
  pixelGrad: number[][][][];
}
const golden = JSON.parse(readFileSync('reference/golden/vision.json', 'utf8')) as Record<string, TowerGolden>;
const TOL = { atol: 1e-5, rtol: 1e-4 };

for (const name of ['tiny-clip-vision', 'tiny-siglip-vision'] as const) {
  const ref = golden[name] as TowerGolden;
  describe(name, () => {
    const tower = loadVisionTower(`reference/golden/${name}`);

    it('matches the reference last hidden state and pooled output (conv patch embedding done as a matmul)', () => {
      const out = noGrad(() => tower.forward(tensor(ref.pixels)));
      expectAllClose(out.lastHidden, ref.lastHidden, TOL);
      if (ref.pooled) expectAllClose(out.pooled as Tensor, ref.pooled, TOL);
      else expect(out.pooled).toBeNull();
    });

    it('matches the reference gradients of a scalar of its outputs, for every parameter and the pixels', () => {
      for (const p of tower.parameters()) p.clearGrad();
      const pixels = tensor(ref.pixels, { requiresGrad: true });
      const out = tower.forward(pixels);
      let scalar = out.lastHidden.mul(tensor(ref.weightLast)).sum();
      if (ref.weightPooled) scalar = scalar.add((out.pooled as Tensor).mul(tensor(ref.weightPooled)).sum());
      expect(scalar.item()).toBeCloseTo(ref.scalar, 3);
      scalar.backward();
      const params = tower.namedParameters();
      expect([...params.keys()].sort()).toEqual(Object.keys(ref.grads).sort());
      for (const [n, g] of Object.entries(ref.grads)) expectAllClose(params.get(n)?.grad as Tensor, g, { atol: 1e-4, rtol: 1e-4 });
      expectAllClose(pixels.grad as Tensor, ref.pixelGrad, { atol: 1e-4, rtol: 1e-4 });
    });

    it('gives HF hidden_states by index (0 = embeddings, -1 = last layer) and refuses a wrong image size', () => {
      const pixels = tensor(ref.pixels);
      const layers = tower.config.num_hidden_layers;
      const last = noGrad(() => tower.hiddenState(pixels, -1));
      expect(last.shape).toEqual([2, tower.numTokens, tower.config.hidden_size]);
      expectAllClose(last, noGrad(() => tower.hiddenState(pixels, layers)).toArray() as Nested, { atol: 0, rtol: 0 });
      if (!ref.pooled) expect(() => expectAllClose(last, ref.lastHidden, TOL)).toThrow(); // SigLIP's output is post-normed
      expect(() => tower.hiddenState(pixels, layers + 1)).toThrow(/does not exist/);
      expect(() => tower.forward(tensor([[[[0]]]]))).toThrow(/expects \(B, 3, 8, 8\)/);
    });
  });
}

describe('vision configs', () => {
  it('fills HF defaults, reads a full CLIP config by its vision_config, and names what is wrong', () => {
    const clip = parseVisionConfig({ model_type: 'clip', vision_config: { hidden_size: 64, num_attention_heads: 4 } });
    expect(clip).toMatchObject({ model_type: 'clip_vision_model', hidden_size: 64, patch_size: 32, image_size: 224, hidden_act: 'quick_gelu' });
    expect(parseVisionConfig({ architectures: ['SiglipVisionModel'] })).toMatchObject({ patch_size: 16, hidden_act: 'gelu_pytorch_tanh', layer_norm_eps: 1e-6 });
    expect(() => parseVisionConfig({ model_type: 'clip_vision_model', image_size: 30, patch_size: 16 }, 'x.json')).toThrow(/x\.json: invalid clip_vision_model config/);
    expect(() => parseVisionConfig({ model_type: 'vit' })).toThrow(ModelConfigError);
  });
});
