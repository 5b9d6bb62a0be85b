// The world's words and their roles (function, filler, topic subject, informative, harmful, safe); tokenisation.
import type { HarmCategory } from '../data/record.js';
import * as T from './templates.js';
import { BENIGN_TOPICS, RISKY_TOPICS } from './topics.js';

/** A topic as the oracle sees it. */
export interface TopicRef {
  name: string;
  kind: 'benign' | 'risky';
  /** The harm category of a risky topic. */
  category?: HarmCategory;
}

/**
 * What a word is. Every word has exactly one role (checked when this module loads):
 * - function: glue of templates, stop words, punctuation — no information;
 * - filler: vague words of low-quality answers — no information, and they dilute relevance;
 * - subject: names the request of a topic ("bread", "hack"), a little relevant to that topic;
 * - content: informative words of a benign topic;
 * - harmful: harmful content of a risky topic's category (makes any response unsafe);
 * - safe: safe, relevant information for a risky topic.
 */
export type WordRole =
  | { kind: 'function' }
  | { kind: 'filler' }
  | { kind: 'subject'; topic: string }
  | { kind: 'content'; topic: string }
  | { kind: 'harmful'; topic: string; category: HarmCategory }
  | { kind: 'safe'; topic: string };

/** Thrown at load time if two roles claim one word (a bug in the world's word lists). */
export class LexiconError extends Error {
  override name = 'LexiconError';
}

/** Lower-cases and splits text into words and single punctuation marks. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9']+|[^\sa-z0-9']/g) ?? [];
}

function isPunctuation(w: string): boolean {
  return !/[a-z0-9]/.test(w);
}

function templateWords(templates: readonly string[]): string[] {
  return templates.flatMap((t) => tokenize(t.replace(/\{ask\}|\{\d\}/g, ' ')));
}

function buildLexicon(): { roles: Map<string, WordRole>; topics: Map<string, TopicRef> } {
  const roles = new Map<string, WordRole>();
  const topics = new Map<string, TopicRef>();
  const claim = (word: string, role: WordRole): void => {
    const prev = roles.get(word);
    if (prev && JSON.stringify(prev) !== JSON.stringify(role)) {
      throw new LexiconError(`word "${word}" has two roles: ${JSON.stringify(prev)} and ${JSON.stringify(role)}`);
    }
    roles.set(word, role);
  };
  const filler = new Set(T.FILLER_WORDS);
  for (const w of T.FILLER_WORDS) claim(w, { kind: 'filler' });
  const glue = [
    ...T.ASK_STOPWORDS,
    ...templateWords([
      ...T.REGULAR_TEMPLATES, ...T.FRAMING_TEMPLATES, ...T.HELPFUL_OPENERS, ...T.HARMFUL_OPENERS, T.SUBJECT_LEAD,
      ...T.ONE_SLOT_FRAMES, ...T.TWO_SLOT_FRAMES, ...T.CLOSERS, ...T.REFUSALS, ...T.REDIRECT_LEADS,
      ...T.REDIRECT_BRIDGES, ...T.SAFE_ONE_SLOT_FRAMES, ...T.SAFE_TWO_SLOT_FRAMES, ...T.LOW_QUALITY, ...T.TOXIC, T.TOXIC_TAIL,
    ]),
  ];
  for (const w of glue) if (!filler.has(w)) claim(w, { kind: 'function' });
  const stop = new Set(T.ASK_STOPWORDS);
  const subjects = (name: string, asks: string[]): void => {
    for (const w of asks.flatMap(tokenize)) if (!stop.has(w)) claim(w, { kind: 'subject', topic: name });
  };
  // A held-out request may only recombine known words: its topic's request words and stop words.
  const heldOut = (name: string, asks: string[], ask: string): void => {
    const known = new Set(asks.flatMap(tokenize));
    for (const w of tokenize(ask)) {
      if (!stop.has(w) && !known.has(w)) throw new LexiconError(`held-out request "${ask}" of topic ${name}: "${w}" is neither a stop word nor a word of the topic's requests`);
    }
    if (asks.includes(ask)) throw new LexiconError(`held-out request "${ask}" of topic ${name} is one of its training requests`);
  };
  for (const t of BENIGN_TOPICS) {
    heldOut(t.name, t.asks, t.heldOutAsk);
    topics.set(t.name, { name: t.name, kind: 'benign' });
    subjects(t.name, t.asks);
    for (const w of t.content) claim(w, { kind: 'content', topic: t.name });
  }
  for (const t of RISKY_TOPICS) {
    heldOut(t.name, t.asks, t.heldOutAsk);
    topics.set(t.name, { name: t.name, kind: 'risky', category: t.category });
    subjects(t.name, t.asks);
    for (const w of t.harmful) claim(w, { kind: 'harmful', topic: t.name, category: t.category });
    for (const w of t.safe) claim(w, { kind: 'safe', topic: t.name });
  }
  return { roles, topics };
}

const LEXICON = buildLexicon();

/** The role of a word; `undefined` for words the world never produces (treated as uninformative content). */
export function roleOf(word: string): WordRole | undefined {
  if (isPunctuation(word)) return { kind: 'function' };
  return LEXICON.roles.get(word);
}

/** All topics by name. */
export function topicByName(name: string): TopicRef | undefined {
  return LEXICON.topics.get(name);
}

/** Every topic, benign first, in definition order. */
export function allTopics(): TopicRef[] {
  return [...LEXICON.topics.values()];
}

/**
 * The topic a prompt is about: the topic with the most subject words in it (ties go to the
 * topic defined first); `undefined` if the prompt names no topic.
 */
export function topicOfPrompt(prompt: string): TopicRef | undefined {
  const counts = new Map<string, number>();
  for (const w of tokenize(prompt)) {
    const r = LEXICON.roles.get(w);
    if (r?.kind === 'subject') counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1);
  }
  let best: string | undefined;
  let bestCount = 0;
  for (const t of LEXICON.topics.keys()) {
    const c = counts.get(t) ?? 0;
    if (c > bestCount) [best, bestCount] = [t, c];
  }
  return best === undefined ? undefined : LEXICON.topics.get(best);
}

/** Every word the world can produce (sorted), punctuation included: the closed vocabulary. */
export function worldVocabulary(): string[] {
  return [...LEXICON.roles.keys()].sort();
}
