// sharp (libvips), loaded on first use so that code which never touches an image does not pay for loading it.
import type { Metadata, Sharp, SharpOptions } from 'sharp';

type SharpFactory = (input?: string | Uint8Array, options?: SharpOptions) => Sharp;
let factory: SharpFactory | undefined;

/** A sharp pipeline over a file path or encoded image bytes. */
export async function openImage(input: string | Uint8Array, options?: SharpOptions): Promise<Sharp> {
  factory ??= (await import('sharp')).default as SharpFactory;
  return factory(input, options);
}

/** Why `input` is of no use as an image (missing, undecodable, no size), or undefined when its header reads. */
export async function imageHeaderProblem(input: string | Uint8Array): Promise<string | undefined> {
  let meta: Metadata;
  try {
    meta = await (await openImage(input)).metadata();
  } catch (e) {
    return `not a readable image (${(e as Error).message})`;
  }
  return meta.width && meta.height ? undefined : 'the image has no size';
}
