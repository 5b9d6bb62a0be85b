// Trains tokenizers from a corpus and writes them as standard tokenizer.json files (word-level and byte-level BPE).
import { Tokenizer } from './tokenizer.js';

export interface SpecialTokens {
  pad: string;
  eos: string;
  bos: string;
  unk: string;
  /** Further tokens kept whole (chat markers and the like). */
  extra: string[];
}

export const DEFAULT_SPECIAL_TOKENS: SpecialTokens = {
  pad: '<pad>',
  eos: '<eos>',
  bos: '<bos>',
  unk: '<unk>',
  extra: ['<|user|>', '<|assistant|>'],
};

export interface TrainOptions {
  /** Upper bound on the vocabulary, special tokens included. */
  vocabSize: number;
  /** Words (word-level) or pairs (BPE) seen fewer times than this are not added. */
  minFrequency?: number;
  special?: SpecialTokens;
}

function specialList(s: SpecialTokens): string[] {
  return [s.pad, s.eos, s.bos, s.unk, ...s.extra];
}

function addedTokens(list: string[]) {
  return list.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
}

function tokenizerConfig(s: SpecialTokens) {
  return {
    pad_token: s.pad,
    eos_token: s.eos,
    bos_token: s.bos,
    unk_token: s.unk,
    model_max_length: 1_000_000,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}

/** Counts in a stable order: by count descending, then by the key. */
function ranked(counts: Map<string, number>, min: number): string[] {
  return [...counts.entries()]
    .filter(([, c]) => c >= min)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w]) => w);
}

/** Splits like the HF `Whitespace` pre-tokenizer: runs of word characters, or runs of punctuation. */
export function whitespaceWords(text: string): string[] {
  return text.match(/\w+|[^\w\s]+/gu) ?? [];
}

/**
 * A word-level tokenizer: one id per whole word, `<unk>` for words not in the vocabulary.
 * Written as a WordPiece model with no sub-word entries (a standard, widely loadable form of
 * word-level tokenization), a `Whitespace` pre-tokenizer and a WordPiece decoder.
 */
export function trainWordLevel(corpus: Iterable<string>, opts: TrainOptions): Tokenizer {
  const special = opts.special ?? DEFAULT_SPECIAL_TOKENS;
  const specials = specialList(special);
  const counts = new Map<string, number>();
  for (const text of corpus) for (const w of whitespaceWords(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = ranked(counts, opts.minFrequency ?? 1)
    .filter((w) => !specials.includes(w))
    .slice(0, Math.max(0, opts.vocabSize - specials.length));
  const vocab: Record<string, number> = {};
  [...specials, ...words].forEach((w, i) => (vocab[w] = i));
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(specials),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: special.unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  return new Tokenizer(json, tokenizerConfig(special));
}

/** GPT-2's reversible map from the 256 byte values to printable unicode characters. */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  }
  return map;
}

/** GPT-2's pre-tokenisation pattern (the one the ByteLevel pre-tokenizer applies with use_regex). */
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * Byte-level BPE as in GPT-2: text -> UTF-8 bytes -> printable characters, then merges learned
 * greedily by pair frequency (ties broken by the pair's text, so training is deterministic).
 */
export function trainBpe(corpus: Iterable<string>, opts: TrainOptions): Tokenizer {
  const special = opts.special ?? DEFAULT_SPECIAL_TOKENS;
  const specials = specialList(special);
  const byteChar = bytesToUnicode();
  const encoder = new TextEncoder();
  // word (as symbol list) -> frequency
  const wordCounts = new Map<string, number>();
  for (const text of corpus) {
    for (const piece of text.match(GPT2_PATTERN) ?? []) {
      const mapped = [...encoder.encode(piece)].map((b) => byteChar[b]).join('');
      wordCounts.set(mapped, (wordCounts.get(mapped) ?? 0) + 1);
    }
  }
  const words = [...wordCounts.entries()].map(([w, count]) => ({ symbols: [...w], count }));
  const vocab: Record<string, number> = {};
  for (const s of specials) vocab[s] = Object.keys(vocab).length;
  for (const c of [...byteChar].sort()) vocab[c] = Object.keys(vocab).length;
  const merges: string[] = [];
  const min = opts.minFrequency ?? 2;
  while (Object.keys(vocab).length < opts.vocabSize) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    const best = ranked(pairs, min)[0];
    if (best === undefined) break;
    const [a, b] = best.split(' ') as [string, string];
    const merged = a + b;
    merges.push(best);
    if (!(merged in vocab)) vocab[merged] = Object.keys(vocab).length;
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(w.symbols[i] as string);
      }
      w.symbols = out;
    }
  }
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(specials),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  return new Tokenizer(json, tokenizerConfig(special));
}
