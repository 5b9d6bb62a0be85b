// Image preprocessing as HF's CLIP / SigLIP image processors do it (preprocessor_config.json): RGB, resize, centre crop, rescale, normalise, via sharp.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type sharp from 'sharp';
import { z } from 'zod';
import { openImage } from '../core/sharp.js';
import { fromBuffer, type Tensor } from '../torch/index.js';
import { readJson } from './hf.js';
import { configIssueLines, ModelConfigError } from './hf-config.js';

const sizeSchema = z.union([
  z.object({ shortest_edge: z.number().int().positive() }).describe('scale so the shorter side has this length, keeping the aspect ratio'),
  z.object({ height: z.number().int().positive(), width: z.number().int().positive() }).describe('scale to exactly height x width'),
]);

/** preprocessor_config.json of CLIPImageProcessor / SiglipImageProcessor (HF field names and defaults; unknown keys kept). */
export const ImageProcessorConfigSchema = z.looseObject({
  image_processor_type: z.string().optional(),
  do_convert_rgb: z.boolean().default(true).describe('drop alpha, expand grey to three channels'),
  do_resize: z.boolean().default(true),
  size: sizeSchema.default({ shortest_edge: 224 }),
  resample: z.number().int().min(0).max(5).default(3).describe('PIL filter: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming'),
  do_center_crop: z.boolean().default(false),
  crop_size: z.object({ height: z.number().int().positive(), width: z.number().int().positive() }).default({ height: 224, width: 224 }),
  do_rescale: z.boolean().default(true),
  rescale_factor: z.number().positive().default(1 / 255),
  do_normalize: z.boolean().default(true),
  image_mean: z.array(z.number()).length(3).default([0.48145466, 0.4578275, 0.40821073]),
  image_std: z.array(z.number().positive()).length(3).default([0.26862954, 0.26130258, 0.27577711]),
});
export type ImageProcessorConfig = z.output<typeof ImageProcessorConfigSchema>;

/** An image that cannot be read or is of no use: names it and says what was found. */
export class ImageError extends Error {
  override name = 'ImageError';
}

/** PIL filter numbers -> sharp kernels (box and hamming have no sharp kernel: the nearest in spirit is used). */
const KERNELS = ['nearest', 'lanczos3', 'linear', 'cubic', 'linear', 'linear'] as const;

/** Reads `dir`/preprocessor_config.json, or returns undefined when the folder has none. */
export function readImageProcessor(dir: string): ImageProcessorConfig | undefined {
  const path = join(dir, 'preprocessor_config.json');
  if (!existsSync(path)) return undefined;
  const result = ImageProcessorConfigSchema.safeParse(readJson(path));
  if (!result.success) {
    throw new ModelConfigError(`${path}: invalid image processor config:\n${configIssueLines(result.error)}`);
  }
  return result.data;
}

/** HF get_resize_output_image_size: the shorter side becomes `edge`, the longer int(edge · long / short). */
function resizedSize(width: number, height: number, size: ImageProcessorConfig['size']): { width: number; height: number } {
  if ('height' in size) return size;
  const short = Math.min(width, height);
  const long = Math.floor((size.shortest_edge * Math.max(width, height)) / short);
  return width <= height ? { width: size.shortest_edge, height: long } : { width: long, height: size.shortest_edge };
}

/** An image given as a file path, or its encoded bytes (PNG, JPEG, WebP, ...). */
export type ImageInput = string | Uint8Array;

/** How far an image may be decoded: images from untrusted sources (a server's requests) get a pixel cap. */
export interface ImageLimits {
  /** Most pixels (width x height) an image may have; larger ones are refused from their header, before decoding (a decompression bomb). */
  maxPixels?: number;
}

/** An image whose size exceeds `ImageLimits.maxPixels`: refused before it is decoded. */
export class ImageTooLargeError extends ImageError {
  override name = 'ImageTooLargeError';
}

/** One image -> (3, H, W) float32 values in the model's layout (channels first), as the HF processor would give them. */
async function preprocessOne(input: ImageInput, config: ImageProcessorConfig, label: string, limits: ImageLimits): Promise<Float32Array & { height: number; width: number }> {
  let meta: sharp.Metadata;
  try {
    // the header only (no pixel decoded), so that a size above the limit is reported as such
    meta = await (await openImage(input, { limitInputPixels: false })).metadata();
  } catch (e) {
    throw new ImageError(`${label}: not a readable image (${(e as Error).message})`);
  }
  if (!meta.width || !meta.height) throw new ImageError(`${label}: image has no size`);
  if (limits.maxPixels !== undefined && meta.width * meta.height > limits.maxPixels) {
    throw new ImageTooLargeError(`${label}: ${meta.width}x${meta.height} = ${meta.width * meta.height} pixels, more than the ${limits.maxPixels} allowed`);
  }
  // sharp refuses to decode past limitInputPixels too (true: its default, 0x3FFF²)
  let pipeline = await openImage(input, { failOn: 'error', limitInputPixels: limits.maxPixels ?? true });
  if (config.do_convert_rgb) pipeline = pipeline.removeAlpha().toColourspace('srgb');
  let { width, height } = { width: meta.width, height: meta.height };
  if (config.do_resize) {
    ({ width, height } = resizedSize(width, height, config.size));
    pipeline = pipeline.resize(width, height, { fit: 'fill', kernel: KERNELS[config.resample] ?? 'cubic' });
  }
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageError(`${label}: cannot decode (${(e as Error).message})`);
  }
  const { channels } = raw.info;
  if (channels !== 3) throw new ImageError(`${label}: ${channels} channels after conversion; set do_convert_rgb or give an RGB image`);
  // HF center_crop: top = (h - ch) // 2, left = (w - cw) // 2 (the crop may not exceed the image here)
  const crop = config.do_center_crop ? config.crop_size : { height: raw.info.height, width: raw.info.width };
  if (crop.height > raw.info.height || crop.width > raw.info.width) {
    throw new ImageError(`${label}: ${raw.info.width}x${raw.info.height} after resizing is smaller than the crop ${crop.width}x${crop.height}`);
  }
  const top = Math.floor((raw.info.height - crop.height) / 2);
  const left = Math.floor((raw.info.width - crop.width) / 2);
  const out = Object.assign(new Float32Array(3 * crop.height * crop.width), crop);
  const scale = config.do_rescale ? config.rescale_factor : 1;
  for (let c = 0; c < 3; c++) {
    const mean = config.do_normalize ? (config.image_mean[c] as number) : 0;
    const std = config.do_normalize ? (config.image_std[c] as number) : 1;
    for (let y = 0; y < crop.height; y++) {
      for (let x = 0; x < crop.width; x++) {
        const v = raw.data[((top + y) * raw.info.width + left + x) * 3 + c] as number;
        out[(c * crop.height + y) * crop.width + x] = (v * scale - mean) / std;
      }
    }
  }
  return out;
}

/**
 * Images -> pixel values (N, 3, H, W) float32 for a vision tower. Every image must come out the same size (a crop, or a
 * fixed height x width); `labels` name the images in errors (file:line of a data record, say); `limits` cap what is decoded.
 */
export async function preprocessImages(inputs: readonly ImageInput[], config: ImageProcessorConfig, labels?: readonly string[], limits: ImageLimits = {}): Promise<Tensor> {
  const arrays = await Promise.all(
    inputs.map((input, i) => preprocessOne(input, config, labels?.[i] ?? (typeof input === 'string' ? input : `image ${i}`), limits)),
  );
  const first = arrays[0];
  if (!first) throw new ImageError('no images to preprocess');
  const bad = arrays.findIndex((a) => a.height !== first.height || a.width !== first.width);
  if (bad >= 0) throw new ImageError(`images come out at different sizes (${first.width}x${first.height} and ${arrays[bad]?.width}x${arrays[bad]?.height}); use a centre crop or a fixed size`);
  const all = new Float32Array(arrays.length * first.length);
  arrays.forEach((a, i) => all.set(a, i * first.length));
  return fromBuffer(new Uint8Array(all.buffer), 'float32', [arrays.length, 3, first.height, first.width]);
}
