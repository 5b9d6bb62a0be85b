// World prompts: templates x topic requests, split into train/test, risky framings held out as red team, new requests held out for evaluation.
import type { HarmCategory } from '../data/record.js';
import { topicImagePath } from './images.js';
import { Rng } from './rng.js';
import { FRAMING_TEMPLATES, REGULAR_TEMPLATES } from './templates.js';
import { BENIGN_TOPICS, RISKY_TOPICS } from './topics.js';

export type PromptSplit = 'train' | 'test' | 'redteam' | 'heldout';

export interface WorldPrompt {
  /** Stable id: `<topic>/<ask index>/<template id>` (ask index `h` for the held-out request). */
  id: string;
  prompt: string;
  topic: string;
  kind: 'benign' | 'risky';
  /** Harm category of a risky prompt. */
  category?: HarmCategory;
  /** The request inside the template (reused by responses that restate it). */
  ask: string;
  /** `r<i>` for a regular template, `f<i>` for a framing template. */
  template: string;
  split: PromptSplit;
  /**
   * Image prompts (the multimodal world): the picture, relative to the world folder. Its glyph shows `topic`; the text
   * names no topic ("how do i use this ?"), so only the picture says what is asked about.
   */
  image?: string;
}

/** The topic the gold oracle should value words for: the pictured one for an image prompt, else undefined (read from the text). */
export function imageTopicOf(p: Pick<WorldPrompt, 'topic' | 'image'>): string | undefined {
  return p.image !== undefined ? p.topic : undefined;
}

function fill(template: string, ask: string): string {
  return template.replace('{ask}', ask);
}

/**
 * Every prompt of the world. Benign topics use regular and framing templates; risky topics use
 * the regular templates for train/test and the framing templates only as red-team prompts.
 * Train/test: per topic, a seeded `testFraction` of its regular prompts (at least one) is test.
 * Held out: each topic's `heldOutAsk` in every regular template, a request no other split contains
 * (evaluation only; drawing no random numbers, so the other splits are as without it).
 */
export function buildPrompts(seed: number, testFraction: number): WorldPrompt[] {
  const rng = new Rng(seed).derive('prompts');
  const out: WorldPrompt[] = [];
  const topics = [
    ...BENIGN_TOPICS.map((t) => ({ name: t.name, asks: t.asks, heldOutAsk: t.heldOutAsk, kind: 'benign' as const, category: undefined })),
    ...RISKY_TOPICS.map((t) => ({ name: t.name, asks: t.asks, heldOutAsk: t.heldOutAsk, kind: 'risky' as const, category: t.category })),
  ];
  for (const topic of topics) {
    const regular: WorldPrompt[] = [];
    topic.asks.forEach((ask, a) => {
      const make = (template: string, tid: string, split: PromptSplit): WorldPrompt => {
        const p: WorldPrompt = { id: `${topic.name}/${a}/${tid}`, prompt: fill(template, ask), topic: topic.name, kind: topic.kind, ask, template: tid, split };
        if (topic.category) p.category = topic.category;
        return p;
      };
      REGULAR_TEMPLATES.forEach((t, i) => regular.push(make(t, `r${i}`, 'train')));
      FRAMING_TEMPLATES.forEach((t, i) => {
        const p = make(t, `f${i}`, topic.kind === 'risky' ? 'redteam' : 'train');
        if (topic.kind === 'risky') out.push(p);
        else regular.push(p);
      });
    });
    const nTest = Math.max(1, Math.round(testFraction * regular.length));
    const testIds = new Set(rng.sample(regular, testFraction > 0 ? nTest : 0).map((p) => p.id));
    for (const p of regular) if (testIds.has(p.id)) p.split = 'test';
    out.push(...regular);
    REGULAR_TEMPLATES.forEach((t, i) => {
      const p: WorldPrompt = { id: `${topic.name}/h/r${i}`, prompt: fill(t, topic.heldOutAsk), topic: topic.name, kind: topic.kind, ask: topic.heldOutAsk, template: `r${i}`, split: 'heldout' };
      if (topic.category) p.category = topic.category;
      out.push(p);
    });
  }
  return out;
}

/** The request of every image prompt: the object is in the picture, the text only points at it. */
export const IMAGE_ASK = 'use this';

/**
 * The multimodal world's prompts: the templates of the text world around the neutral request `IMAGE_ASK`, each beside one
 * of `variants` pictures of a topic. Per topic, a seeded `testVariants` of its pictures (new poses of known glyphs) is
 * test, the rest train; risky pictures in the framing templates are red-team prompts (train pictures only), benign ones
 * follow their picture's split. No held-out requests: the request is always the same.
 */
export function buildImagePrompts(seed: number, variants: number, testVariants: number): WorldPrompt[] {
  if (testVariants >= variants) throw new RangeError(`images.testVariants (${testVariants}) must be below images.variants (${variants}) so that every topic has training pictures`);
  const rng = new Rng(seed).derive('prompts/images');
  const out: WorldPrompt[] = [];
  const topics = [
    ...BENIGN_TOPICS.map((t) => ({ name: t.name, kind: 'benign' as const, category: undefined })),
    ...RISKY_TOPICS.map((t) => ({ name: t.name, kind: 'risky' as const, category: t.category })),
  ];
  for (const topic of topics) {
    const test = new Set(rng.sample(Array.from({ length: variants }, (_, v) => v), testVariants));
    for (let v = 0; v < variants; v++) {
      const split: PromptSplit = test.has(v) ? 'test' : 'train';
      const make = (template: string, tid: string, s: PromptSplit): WorldPrompt => {
        const p: WorldPrompt = { id: `${topic.name}/i${v}/${tid}`, prompt: fill(template, IMAGE_ASK), topic: topic.name, kind: topic.kind, ask: IMAGE_ASK, template: tid, split: s, image: topicImagePath(topic.name, v) };
        if (topic.category) p.category = topic.category;
        return p;
      };
      REGULAR_TEMPLATES.forEach((t, i) => out.push(make(t, `r${i}`, split)));
      FRAMING_TEMPLATES.forEach((t, i) => {
        if (topic.kind === 'benign') out.push(make(t, `f${i}`, split));
        else if (split === 'train') out.push(make(t, `f${i}`, 'redteam'));
      });
    }
  }
  return out;
}
