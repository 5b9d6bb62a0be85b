// Tokens to text as they arrive: incremental decoding, stop strings, and the held-back tail that might still become one.
import type { Tokenizer } from '../models/tokenizer.js';

/**
 * Decodes a growing token list. `push` returns the new text that is safe to send: text that cannot
 * be part of a stop string or of an unfinished multi-byte character. A stop string ends the text
 * before it (the stop string itself is not returned, as in OpenAI's API).
 */
export class TextAssembler {
  private readonly tokens: number[] = [];
  private sent = '';
  private final: string | null = null;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly stops: readonly string[],
  ) {}

  /** The whole text so far (cut at a stop string once one appeared). */
  get text(): string {
    return this.final ?? this.decoded();
  }

  /** True once a stop string appeared. */
  get stopped(): boolean {
    return this.final !== null;
  }

  get tokenCount(): number {
    return this.tokens.length;
  }

  private decoded(): string {
    return this.tokenizer.decode(this.tokens, { skipSpecialTokens: true });
  }

  /** Adds a token; returns the text to send now. */
  push(token: number): string {
    if (this.final !== null) return '';
    this.tokens.push(token);
    let text = this.decoded();
    const at = Math.min(...this.stops.map((s) => text.indexOf(s)).filter((i) => i >= 0));
    if (Number.isFinite(at)) {
      this.final = text.slice(0, at);
      return this.flush();
    }
    // an unfinished UTF-8 sequence decodes to U+FFFD: wait for the next token
    text = text.replace(/\uFFFD+$/, '');
    return this.emitUpTo(text.length - this.heldBack(text), text);
  }

  /** The rest of the text at the end of the sequence. */
  flush(): string {
    const text = this.text;
    return this.emitUpTo(text.length, text);
  }

  /** Characters at the end of `text` that begin some stop string (they may still become one). */
  private heldBack(text: string): number {
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
        if (text.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    return hold;
  }

  private emitUpTo(end: number, text: string): string {
    // a decoder may rewrite earlier text (e.g. spaces before punctuation): send only what extends what was sent
    if (!text.startsWith(this.sent) || end <= this.sent.length) return '';
    const delta = text.slice(this.sent.length, end);
    this.sent += delta;
    return delta;
  }
}
