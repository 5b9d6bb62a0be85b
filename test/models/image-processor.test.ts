// Image preprocessing with sharp on PNGs the test makes: shortest-edge resize + centre crop (CLIP), fixed resize (SigLIP), RGB conversion, normalisation, errors.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { expandImageTokens, ImageError, ImageProcessorConfigSchema, loadLlava, preprocessImages, readImageProcessor } from '../../src/models/index.js';
import { ImageTooLargeError } from '../../src/models/image-processor.js';
import { noGrad, tensor } from '../../src/torch/index.js';

const dir = mkdtempSync(join(tmpdir(), 'images-'));
const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];

/** A PNG of width x height whose pixel (x, y) has the colour colourAt(x, y) (RGB, or RGBA / grey by its length). */
async function png(name: string, width: number, height: number, colourAt: (x: number, y: number) => number[]): Promise<string> {
  const channels = colourAt(0, 0).length as 1 | 3 | 4;
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(colourAt(x, y), (y * width + x) * channels);
  const path = join(dir, name);
  writeFileSync(path, await sharp(data, { raw: { width, height, channels } }).png().toBuffer());
  return path;
}

const clip = readImageProcessor('reference/golden/tiny-llava-gpt2');
const siglip = readImageProcessor('reference/golden/tiny-llava-qwen2');

describe('preprocessImages', () => {
  it('CLIP: shortest edge to 8, then the centre 8x8 crop of a wide red|green|blue image is all green, normalised per channel', async () => {
    expect(clip).toMatchObject({ size: { shortest_edge: 8 }, do_center_crop: true, crop_size: { height: 8, width: 8 } });
    const cfg = clip as NonNullable<typeof clip>;
    // 64x16 -> 32x8; the crop keeps columns 12..19, i.e. source columns 24..39, inside the green middle (16..47)
    const path = await png('wide.png', 64, 16, (x) => (x < 16 ? RED : x < 48 ? GREEN : BLUE));
    const pixels = await preprocessImages([path], cfg);
    expect(pixels.shape).toEqual([1, 3, 8, 8]);
    const values = pixels.toNumbers();
    GREEN.forEach((v, c) => {
      const want = (v / 255 - (cfg.image_mean[c] as number)) / (cfg.image_std[c] as number);
      for (const got of values.slice(c * 64, (c + 1) * 64)) expect(got).toBeCloseTo(want, 4);
    });
  });

  it('SigLIP: a fixed 8x8 resize without crop keeps both halves (black top, white bottom), mean and std 0.5', async () => {
    const cfg = siglip as NonNullable<typeof siglip>;
    const path = await png('halves.png', 16, 32, (_x, y) => (y < 16 ? [0, 0, 0] : [255, 255, 255]));
    const v = (await preprocessImages([path], cfg)).toNumbers();
    for (let c = 0; c < 3; c++) {
      expect(v[c * 64]).toBeCloseTo(-1, 4); // (0, 0) black
      expect(v[c * 64 + 63]).toBeCloseTo(1, 4); // (7, 7) white
    }
  });

  it('makes three channels of grey and RGBA images, takes encoded bytes, and stacks several images', async () => {
    const cfg = siglip as NonNullable<typeof siglip>;
    const grey = await png('grey.png', 8, 8, () => [255]);
    const rgba = await png('rgba.png', 8, 8, () => [0, 0, 255, 10]);
    const bytes = await sharp(Buffer.from(Array(8 * 8 * 3).fill(0)), { raw: { width: 8, height: 8, channels: 3 } }).jpeg().toBuffer();
    const pixels = await preprocessImages([grey, rgba, bytes], cfg);
    expect(pixels.shape).toEqual([3, 3, 8, 8]);
    const v = pixels.toNumbers();
    expect([v[0], v[64], v[128]].map((x) => Math.round(x as number))).toEqual([1, 1, 1]); // grey white -> white in each channel
    expect([v[192], v[256], v[320]].map((x) => Math.round(x as number))).toEqual([-1, -1, 1]); // alpha dropped, blue kept
  });

  it('names a broken image and refuses images that come out at different sizes', async () => {
    const cfg = ImageProcessorConfigSchema.parse({ size: { shortest_edge: 4 } });
    const broken = join(dir, 'broken.png');
    writeFileSync(broken, 'not a png');
    await expect(preprocessImages([broken], cfg, ['data.jsonl:3'])).rejects.toThrow(/data\.jsonl:3: not a readable image/);
    const a = await png('a.png', 8, 4, () => RED);
    const b = await png('b.png', 4, 4, () => RED);
    await expect(preprocessImages([a, b], cfg)).rejects.toThrow(ImageError);
  });

  it('refuses an image above limits.maxPixels from its header (ImageTooLargeError), and takes one at the limit', async () => {
    const cfg = ImageProcessorConfigSchema.parse({ size: { height: 4, width: 4 } });
    const a = await png('limit.png', 8, 4, () => RED);
    await expect(preprocessImages([a], cfg, ['req'], { maxPixels: 31 })).rejects.toThrow(ImageTooLargeError);
    await expect(preprocessImages([a], cfg, ['req'], { maxPixels: 31 })).rejects.toThrow('req: 8x4 = 32 pixels, more than the 31 allowed');
    expect((await preprocessImages([a], cfg, ['req'], { maxPixels: 32 })).shape).toEqual([1, 3, 4, 4]);
  });

  it('feeds a LLaVA model end to end: "<image>" expanded to one token per feature, logits for every position', async () => {
    const { model, tokenizer, imageProcessor } = loadLlava('reference/golden/tiny-llava-gpt2');
    const ids = expandImageTokens(tokenizer?.encode('w3 <image> w4') ?? [], model.config.image_token_index, model.imageTokensPerImage);
    expect(ids).toEqual([7, 40, 40, 40, 40, 8]);
    const pixels = await preprocessImages([await png('icon.png', 20, 12, (x, y) => ((x + y) % 2 ? RED : BLUE))], imageProcessor as NonNullable<typeof imageProcessor>);
    const logits = noGrad(() => model.eval().forward(tensor([ids], { dtype: 'int64' }), tensor([ids.map(() => 1)], { dtype: 'int64' }), pixels).logits);
    expect(logits.shape).toEqual([1, 6, 41]);
    expect(logits.toNumbers().every(Number.isFinite)).toBe(true);
  });
});
