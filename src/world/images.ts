// The multimodal world's pictures: one glyph (shape x colour) per topic, drawn as SVG with a seeded pose and background, rendered by sharp.
import { openImage } from '../core/sharp.js';
import { allTopics } from './lexicon.js';
import { Rng } from './rng.js';

/** Shapes of the glyphs, drawn around (0, 0) within radius ~10 (SVG units of a 32-unit canvas). */
const SHAPES: Record<string, (fill: string) => string> = {
  disc: (f) => `<circle r="10" fill="${f}"/>`,
  square: (f) => `<rect x="-9" y="-9" width="18" height="18" fill="${f}"/>`,
  triangle: (f) => `<polygon points="0,-11 10,8 -10,8" fill="${f}"/>`,
  diamond: (f) => `<polygon points="0,-11 8,0 0,11 -8,0" fill="${f}"/>`,
  cross: (f) => `<rect x="-10" y="-3" width="20" height="6" fill="${f}"/><rect x="-3" y="-10" width="6" height="20" fill="${f}"/>`,
  ring: (f) => `<circle r="8" fill="none" stroke="${f}" stroke-width="4"/>`,
  star: (f) => `<polygon points="0,-11 3,-4 10,-3 5,2 6,10 0,6 -6,10 -5,2 -10,-3 -3,-4" fill="${f}"/>`,
  bars: (f) => `<rect x="-10" y="-9" width="20" height="4" fill="${f}"/><rect x="-10" y="-2" width="20" height="4" fill="${f}"/><rect x="-10" y="5" width="20" height="4" fill="${f}"/>`,
};
/** The glyphs' shapes and colours, in catalogue order (a glyph's class labels for pretraining a tower). */
export const GLYPH_SHAPES: readonly string[] = Object.keys(SHAPES);
const SHAPE_NAMES = GLYPH_SHAPES;
const COLOURS: Record<string, [number, number, number]> = {
  red: [200, 40, 40],
  green: [40, 150, 40],
  blue: [40, 70, 210],
  purple: [140, 50, 170],
};
export const GLYPH_COLOURS: readonly string[] = Object.keys(COLOURS);
const COLOUR_NAMES = GLYPH_COLOURS;

/** What a topic looks like: its glyph's shape and colour (fixed for the world, the same in every seed). */
export interface Glyph {
  shape: string;
  colour: string;
}

/**
 * Each topic's glyph. Topic i (benign first, in definition order) gets glyph (13·i mod 32) of the 8 shapes x 4 colours,
 * so neither shape nor colour alone tells benign from risky: the model has to learn which objects are which.
 */
export const TOPIC_GLYPHS: ReadonlyMap<string, Glyph> = new Map(
  allTopics().map((t, i) => {
    const g = (13 * i) % (SHAPE_NAMES.length * COLOUR_NAMES.length);
    return [t.name, { shape: SHAPE_NAMES[g % SHAPE_NAMES.length] as string, colour: COLOUR_NAMES[Math.floor(g / SHAPE_NAMES.length)] as string }];
  }),
);

/** Thrown for a topic without a glyph. */
export class UnknownGlyphError extends Error {
  override name = 'UnknownGlyphError';
}

/** How one picture of a topic is posed: offset, scale, rotation, background and a shade of the glyph's colour. */
export interface ImagePose {
  dx: number;
  dy: number;
  scale: number;
  rotate: number;
  background: [number, number, number];
  shade: number;
}

/** The pose of variant `variant` of `topic`'s picture, drawn from the world seed (a stream per topic and variant; `stream` names another family of poses). */
export function imagePose(seed: number, topic: string, variant: number, stream = 'image'): ImagePose {
  const rng = new Rng(seed).derive(`${stream}/${topic}/${variant}`);
  const grey = rng.uniform(205, 250);
  return {
    dx: rng.uniform(-4, 4),
    dy: rng.uniform(-4, 4),
    scale: rng.uniform(0.75, 1.1),
    rotate: rng.uniform(-25, 25),
    background: [grey + rng.uniform(-5, 5), grey + rng.uniform(-5, 5), grey + rng.uniform(-5, 5)],
    shade: rng.uniform(0.8, 1.15),
  };
}

const rgb = (c: readonly number[]) => `rgb(${c.map((v) => Math.max(0, Math.min(255, Math.round(v)))).join(',')})`;
const num = (x: number) => x.toFixed(2);

/** A topic's glyph, or an error naming the topics there are. */
export function topicGlyph(topic: string): Glyph {
  const glyph = TOPIC_GLYPHS.get(topic);
  if (!glyph) throw new UnknownGlyphError(`no picture for topic "${topic}"; expected one of ${[...TOPIC_GLYPHS.keys()].join(', ')}`);
  return glyph;
}

/** The SVG of `glyph` in `pose` on a `size`-pixel square (drawn on a 32-unit canvas). */
export function glyphSvg(glyph: Glyph, pose: ImagePose, size: number): string {
  const fill = rgb((COLOURS[glyph.colour] as number[]).map((v) => v * pose.shade));
  const shape = (SHAPES[glyph.shape] as (f: string) => string)(fill);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 32 32">` +
    `<rect width="32" height="32" fill="${rgb(pose.background)}"/>` +
    `<g transform="translate(${num(16 + pose.dx)} ${num(16 + pose.dy)}) rotate(${num(pose.rotate)}) scale(${num(pose.scale)})">${shape}</g></svg>`
  );
}

/** PNG bytes of `glyph` in `pose` (deterministic). */
export async function renderGlyph(glyph: Glyph, pose: ImagePose, size: number): Promise<Buffer> {
  return (await openImage(Buffer.from(glyphSvg(glyph, pose, size)))).removeAlpha().png().toBuffer();
}

/** PNG bytes of variant `variant` of `topic`'s picture (deterministic: same seed, topic and variant, same bytes). */
export async function renderTopicImage(seed: number, topic: string, variant: number, size: number): Promise<Buffer> {
  return renderGlyph(topicGlyph(topic), imagePose(seed, topic, variant), size);
}

/** Every glyph of the catalogue (8 shapes x 4 colours), topic or not, with its shape and colour class. */
export function glyphCatalogue(): { glyph: Glyph; shape: number; colour: number }[] {
  return GLYPH_COLOURS.flatMap((colour, c) => GLYPH_SHAPES.map((shape, s) => ({ glyph: { shape, colour }, shape: s, colour: c })));
}

/** Where variant `variant` of `topic`'s picture is written, relative to the world folder. */
export function topicImagePath(topic: string, variant: number): string {
  return `images/${topic}-${variant}.png`;
}
