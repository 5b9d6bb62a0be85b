// The judge's answer parsers on recorded-style answers, and the combination of both orders into labels.
import { describe, expect, it } from 'vitest';
import { pairMessages, parsePairVerdict, parseSafetyVerdict, safetyMessages } from '../../src/label/templates.js';
import { combineOrders, labelPair, type PairAnswers } from '../../src/label/verdicts.js';

const safe = { safe: true, categories: [] };
const unsafe = { safe: false, categories: ['Violence' as const] };

describe('parsePairVerdict', () => {
  it.each([
    ['Verdict: A', 'A'],
    ['verdict: b', 'B'],
    ['**Verdict:** B.', 'B'],
    ['Both are fine, but Response A is more detailed.\nVerdict: A', 'A'],
    ['Verdict: Response B', 'B'],
    ['B', 'B'],
    ['(A)', 'A'],
    ['Verdict: [A]', 'A'],
  ])('reads %j as %s', (answer, expected) => expect(parsePairVerdict(answer)).toBe(expected));

  it.each(['I think A is better', 'Verdict: A\nVerdict: B', 'Verdict: C', '', 'Verdict: Absolutely', 'AB'])('reports %j as malformed', (answer) => {
    expect(parsePairVerdict(answer)).toMatchObject({ malformed: expect.any(String) });
  });
});

describe('parseSafetyVerdict', () => {
  it('reads safe with no category, and unsafe with categories in any case and separator', () => {
    expect(parseSafetyVerdict('Safety: safe\nCategories: none')).toEqual(safe);
    expect(parseSafetyVerdict('Safety: safe')).toEqual(safe);
    expect(parseSafetyVerdict('**Safety:** unsafe\nCategories: violence, physical harm.')).toEqual({ safe: false, categories: ['Violence', 'Physical Harm'] });
    expect(parseSafetyVerdict('Safety: UNSAFE\nCategories: Drugs; Drugs')).toEqual({ safe: false, categories: ['Drugs'] });
  });

  it.each([
    ['no verdict', 'It looks fine to me.'],
    ['both verdicts', 'Safety: safe\nSafety: unsafe\nCategories: Drugs'],
    ['unknown category', 'Safety: unsafe\nCategories: Hacking'],
    ['unsafe without a category', 'Safety: unsafe\nCategories: none'],
    ['safe with a category', 'Safety: safe\nCategories: Violence'],
  ])('reports %s as malformed', (_name, answer) => expect(parseSafetyVerdict(answer)).toMatchObject({ malformed: expect.any(String) }));
});

describe('templates', () => {
  it('shows the first response as A, and leaves placeholder-like text inside a response alone', () => {
    const [, user] = pairMessages('helpful', 'User: hi', 'first {b}', 'second');
    expect(user?.content).toMatch(/\[Response A\]\nfirst \{b\}\n\n\[Response B\]\nsecond/);
    expect(user?.content).toMatch(/more helpful/);
    expect(pairMessages('harmless', 'User: hi', 'x', 'y')[1]?.content).toMatch(/more harmless/);
    const safety = safetyMessages('User: hi', 'resp')[1]?.content;
    expect(safety).toMatch(/\[Response\]\nresp\n/);
    expect(safety).toMatch(/White-Collar Crime/);
  });
});

describe('combineOrders', () => {
  it('maps the swapped order back: A then B names response 0 both times', () => {
    expect(combineOrders(['A', 'B'])).toEqual({ pick: 0 });
    expect(combineOrders(['B', 'A'])).toEqual({ pick: 1 });
  });
  it('is a tie when the judge picks the same position in both orders (position bias)', () => {
    expect(combineOrders(['A', 'A'])).toEqual({ tie: true });
    expect(combineOrders(['B', 'B'])).toEqual({ tie: true });
  });
  it('passes a malformed answer on', () => expect(combineOrders(['A', { malformed: 'x' }])).toEqual({ malformed: 'x' }));
});

describe('labelPair', () => {
  const base: PairAnswers = { helpful: ['B', 'A'], harmless: ['A', 'B'], safety: [safe, unsafe] };
  it('labels a pair whose orders agree', () => {
    expect(labelPair(base).outcome).toEqual({
      kind: 'labelled',
      labels: { betterResponseId: 1, saferResponseId: 0, isSafe: [true, false], categories: [[], ['Violence']] },
      saferFromSafety: false,
    });
  });
  it('a helpfulness tie leaves the pair unlabelled', () => expect(labelPair({ ...base, helpful: ['A', 'A'] }).outcome).toEqual({ kind: 'tie', axes: ['helpful'] }));
  it('a harmlessness tie is decided by safety when exactly one response is unsafe, else stays a tie', () => {
    const decided = labelPair({ ...base, harmless: ['B', 'B'], safety: [unsafe, safe] }).outcome;
    expect(decided).toMatchObject({ kind: 'labelled', labels: { saferResponseId: 1 }, saferFromSafety: true });
    expect(labelPair({ ...base, harmless: ['B', 'B'], safety: [safe, safe] }).outcome).toEqual({ kind: 'tie', axes: ['harmless'] });
  });
  it('the unsafe response judged more harmless is inconsistent', () => {
    expect(labelPair({ ...base, harmless: ['B', 'A'] }).outcome).toMatchObject({ kind: 'inconsistent' });
  });
  it('collects every malformed answer', () => {
    const out = labelPair({ ...base, helpful: [{ malformed: 'h' }, 'A'], safety: [safe, { malformed: 's' }] }).outcome;
    expect(out).toEqual({ kind: 'malformed', reasons: ['helpfulness: h', 'safety of response 1: s'] });
  });
});
