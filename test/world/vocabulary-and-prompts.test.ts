import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HARM_CATEGORIES } from '../../src/data/record.js';
import { roleOf, tokenize, topicOfPrompt, worldVocabulary } from '../../src/world/lexicon.js';
import { buildPrompts } from '../../src/world/prompts.js';
import { generateResponse, MAX_RESPONSE_TOKENS, RESPONSE_KINDS } from '../../src/world/responses.js';
import { Rng } from '../../src/world/rng.js';
import { FRAMING_TEMPLATES, REGULAR_TEMPLATES } from '../../src/world/templates.js';
import { BENIGN_TOPICS, RISKY_TOPICS } from '../../src/world/topics.js';

const prompts = buildPrompts(1234, 0.2);

describe('world topics and vocabulary', () => {
  it('ties one risky topic to each of the 19 harm categories', () => {
    expect(RISKY_TOPICS.map((t) => t.category).sort()).toEqual([...HARM_CATEGORIES].sort());
    expect(BENIGN_TOPICS.length).toBeGreaterThanOrEqual(10);
  });

  it('has a closed vocabulary of a few hundred words', () => {
    const vocab = worldVocabulary();
    expect(vocab.length).toBeGreaterThan(300);
    expect(vocab.length).toBeLessThan(800);
    expect(new Set(vocab).size).toBe(vocab.length);
  });

  it('produces only vocabulary words, prompts <= 14 tokens, ordinary responses <= 40 tokens', () => {
    const vocab = new Set(worldVocabulary());
    const rng = new Rng(5);
    for (const p of prompts) {
      const toks = tokenize(p.prompt);
      expect(toks.length).toBeLessThanOrEqual(14);
      for (const w of toks) expect(vocab.has(w), `${w} in "${p.prompt}"`).toBe(true);
    }
    for (let i = 0; i < 3000; i++) {
      const p = rng.pick(prompts);
      const kind = RESPONSE_KINDS[i % RESPONSE_KINDS.length] as (typeof RESPONSE_KINDS)[number];
      const r = generateResponse(p, kind, rng);
      const toks = tokenize(r);
      for (const w of toks) expect(vocab.has(w), `${w} in "${r}"`).toBe(true);
      if (kind !== 'repetitive' && kind !== 'overlong') expect(toks.length).toBeLessThanOrEqual(MAX_RESPONSE_TOKENS);
      if (kind === 'overlong') expect(toks.length).toBeGreaterThan(MAX_RESPONSE_TOKENS);
    }
  });

  it('recovers every prompt\'s topic from its words alone', () => {
    for (const p of prompts) expect(topicOfPrompt(p.prompt)?.name, p.prompt).toBe(p.topic);
    expect(topicOfPrompt('hello there')).toBeUndefined();
  });

  it('gives every word one role: harmful words belong to their topic\'s category', () => {
    for (const t of RISKY_TOPICS) for (const w of t.harmful) expect(roleOf(w)).toEqual({ kind: 'harmful', topic: t.name, category: t.category });
    for (const t of BENIGN_TOPICS) for (const w of t.content) expect(roleOf(w)).toEqual({ kind: 'content', topic: t.name });
    expect(roleOf('the')).toEqual({ kind: 'function' });
    expect(roleOf(',')).toEqual({ kind: 'function' });
    expect(roleOf('zebra')).toBeUndefined();
  });
});

describe('world prompts', () => {
  it('has unique ids and the expected counts per split', () => {
    expect(new Set(prompts.map((p) => p.id)).size).toBe(prompts.length);
    const benignPerTopic = BENIGN_TOPICS[0]!.asks.length * (REGULAR_TEMPLATES.length + FRAMING_TEMPLATES.length);
    const benign = prompts.filter((p) => p.kind === 'benign' && p.split !== 'heldout');
    expect(benign.length).toBe(BENIGN_TOPICS.reduce((s, t) => s + t.asks.length, 0) * (REGULAR_TEMPLATES.length + FRAMING_TEMPLATES.length));
    const cooking = benign.filter((p) => p.topic === 'cooking');
    expect(cooking.filter((p) => p.split === 'test').length).toBe(Math.round(0.2 * benignPerTopic));
  });

  it('holds out risky prompts in jailbreak framings as red team, never in train or test', () => {
    const red = prompts.filter((p) => p.split === 'redteam');
    expect(red.length).toBe(RISKY_TOPICS.reduce((s, t) => s + t.asks.length, 0) * FRAMING_TEMPLATES.length);
    expect(red.every((p) => p.kind === 'risky' && p.template.startsWith('f'))).toBe(true);
    const regularRisky = prompts.filter((p) => p.kind === 'risky' && p.split !== 'redteam');
    expect(regularRisky.every((p) => p.template.startsWith('r'))).toBe(true);
    // Framing words are still known from benign training prompts.
    const trainWords = new Set(prompts.filter((p) => p.split === 'train').flatMap((p) => tokenize(p.prompt)));
    for (const p of red) for (const w of tokenize(p.prompt)) expect(trainWords.has(w), w).toBe(true);
    expect(red.every((p) => p.category !== undefined)).toBe(true);
  });

  it('holds out one new request per topic in every regular template: known words, a request no other split contains', () => {
    const held = prompts.filter((p) => p.split === 'heldout');
    const topics = [...BENIGN_TOPICS, ...RISKY_TOPICS];
    expect(held).toHaveLength(topics.length * REGULAR_TEMPLATES.length);
    const others = prompts.filter((p) => p.split !== 'heldout');
    const asWords = (text: string) => ` ${tokenize(text).join(' ')} `;
    for (const t of topics) {
      const mine = held.filter((p) => p.topic === t.name);
      expect(mine.map((p) => p.ask)).toEqual(REGULAR_TEMPLATES.map(() => t.heldOutAsk));
      expect(t.asks).not.toContain(t.heldOutAsk);
      // no prompt of train, test or red team contains the held-out request
      for (const p of others) expect(asWords(p.prompt).includes(asWords(t.heldOutAsk)), `${p.prompt} contains ${t.heldOutAsk}`).toBe(false);
    }
    // every word of a held-out prompt is seen in training prompts
    const trainWords = new Set(prompts.filter((p) => p.split === 'train').flatMap((p) => tokenize(p.prompt)));
    for (const p of held) for (const w of tokenize(p.prompt)) expect(trainWords.has(w), `${w} in "${p.prompt}"`).toBe(true);
  });

  it('leaves the other splits as they were before held-out requests existed (they draw no random numbers)', () => {
    // sha256 of JSON.stringify(buildPrompts(1234, 0.2)) at the commit before held-out requests
    const others = JSON.stringify(prompts.filter((p) => p.split !== 'heldout'));
    expect(createHash('sha256').update(others).digest('hex')).toBe('3bfc015ffb8dd05824627bbe740eb4520a7765de8e52d0834200a96ac62f565c');
  });

  it('splits deterministically by seed', () => {
    const ids = (seed: number) => buildPrompts(seed, 0.2).filter((p) => p.split === 'test').map((p) => p.id);
    expect(ids(1234)).toEqual(ids(1234));
    expect(ids(1234)).not.toEqual(ids(99));
  });
});
