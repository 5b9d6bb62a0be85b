// The world's response generator: answers of each kind, built from templates and topic words.
import { roleOf, tokenize } from './lexicon.js';
import type { Rng } from './rng.js';
import * as T from './templates.js';
import { BENIGN_TOPICS, RISKY_TOPICS, type BenignTopic, type RiskyTopic } from './topics.js';

/**
 * Kinds of response. The first seven are what an assistant (and the SFT data) produce; the
 * last two are degenerate forms a policy may discover and the gold oracle penalises.
 * - helpful: informative words of the topic (for a risky prompt: safe information only);
 * - harmful: complies with a risky request, carrying its category's harmful words (1-6 of them);
 *   for a benign prompt, unprompted harmful content of a random category;
 * - redirect: refuses the harmful part, then gives safe relevant information;
 * - refusal: refuses, at most restating the request;
 * - low-quality: vague filler with at most one topic word;
 * - off-topic: a helpful answer to a different benign topic;
 * - toxic: insults the user (harmful words of 'Insulting Behavior');
 * - repetitive: a normal answer with a word repeated many times;
 * - overlong: an answer padded far beyond the length limit.
 */
export const RESPONSE_KINDS = [
  'helpful',
  'harmful',
  'redirect',
  'refusal',
  'low-quality',
  'off-topic',
  'toxic',
  'repetitive',
  'overlong',
] as const;
export type ResponseKind = (typeof RESPONSE_KINDS)[number];

/** Responses of the non-degenerate kinds stay within this many tokens (words and punctuation). */
export const MAX_RESPONSE_TOKENS = 40;

/** What the generator needs to know about a prompt. */
export interface PromptInfo {
  topic: string;
  ask: string;
}

/** Thrown when asked to answer a prompt whose topic the world does not know. */
export class UnknownTopicError extends Error {
  override name = 'UnknownTopicError';
}

const BENIGN = new Map(BENIGN_TOPICS.map((t) => [t.name, t]));
const RISKY = new Map(RISKY_TOPICS.map((t) => [t.name, t]));
const INSULTS = (RISKY_TOPICS.find((t) => t.category === 'Insulting Behavior') as RiskyTopic).harmful;

/** Harmful words in a complying answer: 1-6, mostly 2-4 (so severity spreads over 1-3). */
const HARMFUL_COUNT_WEIGHTS = { '1': 0.15, '2': 0.2, '3': 0.25, '4': 0.2, '5': 0.1, '6': 0.1 };

function fillSlots(frame: string, words: readonly string[]): string {
  return frame.replace(/\{(\d)\}/g, (_, i: string) => words[Number(i)] ?? '');
}

/**
 * Puts `words` into frames, one or two per sentence, using each frame at most once while
 * frames last (so answers do not repeat their glue).
 */
function sentences(words: readonly string[], one: readonly string[], two: readonly string[], rng: Rng): string[] {
  const ones = rng.shuffle(one);
  const twos = rng.shuffle(two);
  const out: string[] = [];
  let i = 0;
  while (i < words.length) {
    const left = words.length - i;
    if (left >= 2 && twos.length > 0 && rng.bernoulli(0.4)) {
      out.push(fillSlots(twos.pop() as string, [words[i] as string, words[i + 1] as string]));
      i += 2;
    } else {
      out.push(fillSlots(ones.pop() ?? rng.pick(one), [words[i] as string]));
      i += 1;
    }
  }
  return out;
}

function count(text: string): number {
  return tokenize(text).length;
}

/** Joins parts, dropping trailing sentences (never the first `keep`) until within `max` tokens. */
function fit(parts: string[], keep: number, max = MAX_RESPONSE_TOKENS): string {
  const kept = parts.filter((p) => p.trim() !== '');
  while (kept.length > keep && count(kept.join(' ')) > max) kept.splice(kept.length - 1, 1);
  return kept.join(' ');
}

function withLead(first: string | undefined, ask: string, rng: Rng): string[] {
  if (first === undefined) return [];
  return rng.bernoulli(0.5) ? [`${T.SUBJECT_LEAD.replace('{ask}', ask)} ${first}`] : [first];
}

function helpfulBenign(topic: BenignTopic, ask: string | undefined, rng: Rng): string {
  const words = rng.sample(topic.content, 3 + rng.int(4));
  const [first, ...rest] = sentences(words, T.ONE_SLOT_FRAMES, T.TWO_SLOT_FRAMES, rng);
  const body = ask === undefined ? (first ? [first] : []) : withLead(first, ask, rng);
  return fit([rng.pick(T.HELPFUL_OPENERS), ...body, ...rest, rng.pick(T.CLOSERS)], 2);
}

function safeInfo(topic: RiskyTopic, n: number, rng: Rng): string[] {
  return sentences(rng.sample(topic.safe, n), T.SAFE_ONE_SLOT_FRAMES, T.SAFE_TWO_SLOT_FRAMES, rng);
}

function harmful(words: readonly string[], ask: string, rng: Rng): string {
  const [first, ...rest] = sentences(words, T.ONE_SLOT_FRAMES, T.TWO_SLOT_FRAMES, rng);
  return fit([rng.pick(T.HARMFUL_OPENERS), ...withLead(first, ask, rng), ...rest], 2);
}

function harmfulCount(rng: Rng): number {
  return Number(rng.weighted(HARMFUL_COUNT_WEIGHTS));
}

function topicsOf(p: PromptInfo): { benign?: BenignTopic; risky?: RiskyTopic } {
  const benign = BENIGN.get(p.topic);
  const risky = RISKY.get(p.topic);
  if (!benign && !risky) throw new UnknownTopicError(`unknown world topic "${p.topic}"; expected one of ${[...BENIGN.keys(), ...RISKY.keys()].join(', ')}`);
  return benign ? { benign } : risky ? { risky } : {};
}

/** A response of `kind` to the prompt. Deterministic given the RNG state. */
export function generateResponse(p: PromptInfo, kind: ResponseKind, rng: Rng): string {
  const { benign, risky } = topicsOf(p);
  switch (kind) {
    case 'helpful':
      if (benign) return helpfulBenign(benign, p.ask, rng);
      return fit([rng.pick(T.HELPFUL_OPENERS), ...safeInfo(risky as RiskyTopic, 2 + rng.int(3), rng)], 2);
    case 'harmful': {
      const topic = risky ?? rng.pick(RISKY_TOPICS);
      return harmful(rng.sample(topic.harmful, harmfulCount(rng)), p.ask, rng);
    }
    case 'redirect': {
      const lead = rng.pick(T.REDIRECT_LEADS).replace('{ask}', p.ask);
      const bridge = rng.bernoulli(0.6) ? [rng.pick(T.REDIRECT_BRIDGES)] : [];
      const info = risky
        ? safeInfo(risky, 2 + rng.int(3), rng)
        : sentences(rng.sample((benign as BenignTopic).content, 2 + rng.int(2)), T.ONE_SLOT_FRAMES, T.TWO_SLOT_FRAMES, rng);
      return fit([lead, ...bridge, ...info], 2 + bridge.length);
    }
    case 'refusal':
      return rng.pick(T.REFUSALS).replace('{ask}', p.ask);
    case 'low-quality': {
      const pool = benign ? benign.content : tokenize(p.ask).filter((w) => !T.ASK_STOPWORDS.includes(w));
      return rng.pick(T.LOW_QUALITY).replace('{0}', rng.pick(pool.length > 0 ? pool : ['stuff']));
    }
    case 'off-topic': {
      const others = BENIGN_TOPICS.filter((t) => t.name !== p.topic);
      return helpfulBenign(rng.pick(others), undefined, rng);
    }
    case 'toxic': {
      const [a, b, c] = rng.sample(INSULTS, 3) as [string, string, string];
      const base = fillSlots(rng.pick(T.TOXIC), [a, b]);
      return rng.bernoulli(0.3) ? `${base} ${fillSlots(T.TOXIC_TAIL, [c])}` : base;
    }
    case 'repetitive': {
      const base = generateResponse(p, rng.pick(['helpful', 'harmful', 'redirect'] as const), rng);
      const words = tokenize(base).filter((w) => roleOf(w)?.kind !== 'function');
      const word = rng.pick(words.length > 0 ? words : ['sure']);
      return `${base} ${Array.from({ length: 5 + rng.int(6) }, () => word).join(' ')}`;
    }
    case 'overlong': {
      const parts: string[] = [];
      const target = 48 + rng.int(14);
      while (count(parts.join(' ')) < target) parts.push(generateResponse(p, risky ? 'redirect' : 'helpful', rng));
      return parts.join(' ');
    }
  }
}
