// Streaming text from tokens: multi-byte characters split over byte-level tokens, and stop strings split over tokens.
import { describe, expect, it } from 'vitest';
import { trainBpe } from '../../src/models/index.js';
import { TextAssembler } from '../../src/serve/text-stream.js';

const tok = trainBpe(['plain words only here'], { vocabSize: 300 });
const TEXT = 'snow ☃ and crème brûlée, 雪 too. STOP here';

/** Feeds the tokens of `text` one at a time; returns the deltas and the final text. */
function stream(text: string, stops: string[]): { deltas: string[]; text: string } {
  const a = new TextAssembler(tok, stops);
  const deltas: string[] = [];
  for (const t of tok.encode(text, { addSpecialTokens: false })) {
    deltas.push(a.push(t));
    if (a.stopped) break;
  }
  deltas.push(a.flush());
  return { deltas, text: a.text };
}

describe('TextAssembler', () => {
  it('never sends half a character: the deltas join to the decoded text', () => {
    // characters outside the tiny BPE vocabulary are several byte tokens each
    expect(tok.encode('☃', { addSpecialTokens: false }).length).toBeGreaterThan(1);
    const s = stream(TEXT, []);
    expect(s.deltas.join('')).toBe(TEXT);
    expect(s.text).toBe(TEXT);
    for (const d of s.deltas) expect(d).not.toContain('\uFFFD');
  });

  it('cuts before a stop string split over tokens and never sends a part of it', () => {
    const s = stream(TEXT, ['xyz', ' STOP']);
    expect(s.text).toBe('snow ☃ and crème brûlée, 雪 too.');
    expect(s.deltas.join('')).toBe(s.text);
    // a stop string made of multi-byte characters
    const t = stream(TEXT, ['雪 t']);
    expect(t.text).toBe('snow ☃ and crème brûlée, ');
    expect(t.deltas.join('')).toBe(t.text);
  });
});
