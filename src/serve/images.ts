// Images of chat requests: OpenAI image_url parts read as inline data URLs (remote URLs refused), checked, and turned into pixel values per image processor.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { openImage } from '../core/sharp.js';
import { ImageError, ImageTooLargeError, preprocessImages, type ImageProcessorConfig } from '../models/image-processor.js';
import type { Tensor } from '../torch/index.js';
import { ApiError } from './openai-schema.js';

/** The media types the server decodes, and the format sharp must find in the bytes for each. */
export const IMAGE_MEDIA_TYPES: Readonly<Record<string, string>> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/webp': 'webp' };

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const badImage = (message: string, param: string, code = 'invalid_image') => new ApiError(400, message, 'invalid_request_error', code, param);

/**
 * The bytes and declared media type of an `image_url.url` (named `param` in errors): a `data:image/png|jpeg|webp;base64,`
 * URL. A remote http(s) URL is refused, not fetched: a server that fetches what clients name can be made to reach hosts
 * only it can reach (SSRF).
 */
export function decodeDataUrl(url: string, param: string): { bytes: Buffer; mediaType: string } {
  if (/^https?:/i.test(url)) {
    throw badImage('remote image URLs are not fetched (the server fetches nothing a request names); send the image inline as a data URL: data:image/png;base64,<data>', param, 'remote_image_url');
  }
  const m = DATA_URL.exec(url);
  if (!m) throw badImage(`expected a data URL (data:image/png;base64,<data>), found ${JSON.stringify(url.slice(0, 40))}${url.length > 40 ? '...' : ''}`, param);
  const mediaType = (m[1] as string).toLowerCase();
  if (!(mediaType in IMAGE_MEDIA_TYPES)) {
    throw badImage(`media type ${JSON.stringify(mediaType)}: send a PNG, JPEG or WebP image (data:image/png|jpeg|webp;base64,<data>)`, param, 'unsupported_media_type');
  }
  if (!(m[2] as string).toLowerCase().split(';').includes('base64')) throw badImage(`the data URL is not base64 (expected data:${mediaType};base64,<data>)`, param);
  const data = url.slice(m[0].length);
  if (!data) throw badImage('the data URL holds no data', param);
  if (!BASE64.test(data)) {
    const bad = data.search(/[^A-Za-z0-9+/=]/);
    throw badImage(bad >= 0 ? `not base64: ${JSON.stringify(data[bad])} at character ${bad} of the data` : 'not base64: "=" padding inside the data or more than two at its end', param);
  }
  if (data.length % 4 !== 0) throw badImage(`not base64: ${data.length} characters, not a multiple of 4 (is the padding missing?)`, param);
  return { bytes: Buffer.from(data, 'base64'), mediaType };
}

/**
 * One request's image: its bytes, checked once (`open`), and its pixel values for each image processor that asks (the
 * policy's, the guard models'), computed once per distinct processor config. `dispose` frees them.
 */
export class RequestImage {
  private readonly pixelsBy: { config: ImageProcessorConfig; pixels: Promise<Tensor> }[] = [];

  private constructor(
    readonly bytes: Buffer,
    /** The field the image came from (`messages.0.content.1.image_url.url`), named in errors. */
    readonly param: string,
    private readonly maxPixels: number,
    readonly width: number,
    readonly height: number,
  ) {}

  /**
   * Reads an `image_url.url`: decodes the data URL, reads the image's header (no pixel is decoded yet) and refuses bytes
   * that are not an image, not the declared format, or above `maxPixels` pixels (a decompression bomb), each a 400 naming `param`.
   */
  static async open(url: string, param: string, maxPixels: number): Promise<RequestImage> {
    const { bytes, mediaType } = decodeDataUrl(url, param);
    let meta: { format?: string; width?: number; height?: number };
    try {
      // the header only: no pixel is decoded here, so the size check below sees a decompression bomb's claimed size
      meta = await (await openImage(bytes, { limitInputPixels: false })).metadata();
    } catch (e) {
      throw badImage(`not a readable ${mediaType} image (${(e as Error).message})`, param);
    }
    const format = IMAGE_MEDIA_TYPES[mediaType];
    if (meta.format !== format) throw badImage(`declared ${mediaType} but the data is ${meta.format ? `a ${meta.format} image` : 'no image format the server reads'}`, param, 'unsupported_media_type');
    const { width = 0, height = 0 } = meta;
    if (!width || !height) throw badImage('the image has no size', param);
    if (width * height > maxPixels) {
      throw badImage(`the image is ${width}x${height} = ${width * height} pixels, more than this server decodes (--max-image-pixels ${maxPixels}); send a smaller image`, param, 'image_too_large');
    }
    return new RequestImage(bytes, param, maxPixels, width, height);
  }

  /** SHA-256 of the image's bytes (hex), for the guard's log. */
  get sha256(): string {
    return createHash('sha256').update(this.bytes).digest('hex');
  }

  /** Pixel values (1, C, H, W) as `config` makes them; a decoding failure is a 400 naming the field. */
  pixels(config: ImageProcessorConfig): Promise<Tensor> {
    const known = this.pixelsBy.find((p) => isDeepStrictEqual(p.config, config));
    if (known) return known.pixels;
    const pixels = preprocessImages([this.bytes], config, [this.param], { maxPixels: this.maxPixels }).catch((e: unknown) => {
      if (e instanceof ImageError) throw badImage(e.message, this.param, e instanceof ImageTooLargeError ? 'image_too_large' : 'invalid_image');
      throw e;
    });
    this.pixelsBy.push({ config, pixels });
    return pixels;
  }

  /** Frees every pixel tensor made (call once nothing reads them any more). */
  async dispose(): Promise<void> {
    const made = await Promise.allSettled(this.pixelsBy.map((p) => p.pixels));
    for (const r of made) if (r.status === 'fulfilled') r.value.dispose();
    this.pixelsBy.length = 0;
  }
}
