// World prompts: templates x topic requests, split into train/test, risky framings held out as red team, new requests held out for evaluation.
import type { HarmCategory } from '../data/record.js';
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
