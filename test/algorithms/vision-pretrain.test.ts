// Pretraining a tiny CLIP-style tower on glyph pictures: it learns colour and shape on poses it never saw, and the tower (not only the heads) changes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VisionPretrainConfigSchema } from '../../src/algorithms/vision-pretrain/config.js';
import { pretrainVisionTower, type LabelledPicture } from '../../src/algorithms/vision-pretrain/train.js';
import { preprocessImages } from '../../src/models/image-processor.js';
import { parseVisionConfig } from '../../src/models/vision-config.js';
import { VisionTower } from '../../src/models/vision.js';
import { worldImageProcessor } from '../../src/pipeline/multimodal.js';
import { manualSeed } from '../../src/torch/index.js';
import { glyphCatalogue, imagePose, renderGlyph } from '../../src/world/images.js';

/** Pictures of 4 glyphs (2 shapes x 2 colours) in poses from..from+count-1; classes renumbered 0/1. */
async function pictures(from: number, count: number): Promise<LabelledPicture[]> {
  const glyphs = glyphCatalogue().filter((g) => (g.shape === 0 || g.shape === 6) && g.colour < 2);
  const items = glyphs.flatMap((g) => Array.from({ length: count }, (_, k) => ({ ...g, pose: imagePose(1, `${g.glyph.shape}-${g.glyph.colour}`, from + k, 'pretrain') })));
  const px = await preprocessImages(await Promise.all(items.map((it) => renderGlyph(it.glyph, it.pose, 32))), worldImageProcessor(32));
  return items.map((it, i) => ({ pixels: px.narrow(0, i, 1), shape: it.shape === 0 ? 0 : 1, colour: it.colour }));
}

describe('pretrainVisionTower', () => {
  it('learns the glyphs\' colour and shape on new poses, training the tower itself', async () => {
    manualSeed(0);
    const tower = new VisionTower(parseVisionConfig({ model_type: 'clip_vision_model', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, image_size: 32, patch_size: 8 }));
    const before = tower.parameters().map((p) => p.toNumbers());
    const config = VisionPretrainConfigSchema.parse({ poses: 30, epochs: 10, batchSize: 32 });
    const r = pretrainVisionTower({ tower, featureLayer: -1, classes: { shapes: 2, colours: 2 }, train: await pictures(0, 30), test: await pictures(30, 10), config, outDir: mkdtempSync(join(tmpdir(), 'vision-pretrain-')) });
    expect(r.steps).toBe(40);
    expect(r.test.n).toBe(40);
    expect(r.test.colourAccuracy).toBe(1);
    expect(r.test.shapeAccuracy).toBeGreaterThan(0.85); // disc vs star: chance is 0.5
    expect(tower.parameters().map((p) => p.toNumbers())).not.toEqual(before);
  }, 60_000);
});
