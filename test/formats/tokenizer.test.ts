import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer, TokenizerError } from '../../src/models/tokenizer.js';
import { bytesToUnicode, trainBpe, trainWordLevel } from '../../src/models/tokenizer-train.js';

const corpus = [
  'how do i bake bread ? mix flour , water and yeast , then bake .',
  'how do i grow tomatoes ? plant seeds in sun and water daily .',
  'i can not help with that request .',
  'to bake bread , knead the dough and let it rise .',
];

function tmp() {
  return mkdtempSync(join(tmpdir(), 'tok-'));
}

describe('word-level tokenizer', () => {
  const tok = trainWordLevel(corpus, { vocabSize: 1000 });

  it('gives one id per known word and keeps specials whole', () => {
    const ids = tok.encode('<|user|> how do i bake bread ? <eos>');
    expect(ids.length).toBe(8);
    expect(ids[0]).toBe(tok.tokenToId('<|user|>'));
    expect(ids[7]).toBe(tok.eosId);
    expect(tok.decode(ids.slice(1, 7))).toBe('how do i bake bread?');
  });

  it('maps unknown words to <unk> and exposes pad/eos/bos ids', () => {
    const ids = tok.encode('bake quantum bread');
    expect(ids[1]).toBe(tok.unkId);
    expect(tok.padId).toBe(0);
    expect(tok.eosId).toBe(1);
    expect(tok.bosId).toBe(2);
  });

  it('orders words by frequency and respects the vocabulary cap', () => {
    const small = trainWordLevel(corpus, { vocabSize: 8 });
    expect(small.vocabSize).toBe(8);
    // '.' (6 times) and 'bake' (3 times) are among the most frequent; 'tomatoes' (once) is not kept.
    expect(small.tokenToId('.')).toBeDefined();
    expect(small.tokenToId('tomatoes')).toBeUndefined();
  });

  it('round-trips through tokenizer.json on disk', () => {
    const dir = tmp();
    tok.save(dir);
    const back = Tokenizer.fromDir(dir);
    const text = 'plant seeds and knead the dough .';
    expect(back.encode(text)).toEqual(tok.encode(text));
    expect(back.vocabSize).toBe(tok.vocabSize);
  });
});

describe('byte-level BPE tokenizer', () => {
  const tok = trainBpe(corpus, { vocabSize: 300, minFrequency: 2 });

  it('round-trips arbitrary text, including unseen words and non-ASCII', () => {
    for (const text of ['how do i bake bread?', 'zebra quartz ünïcödé 🍞 tabs\tand  spaces']) {
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
  });

  it('learns merges in order so frequent words become few tokens', () => {
    const merges = (tok.tokenizerJson.model as { merges: string[] }).merges;
    expect(merges.length).toBeGreaterThan(10);
    // Every merge is built from symbols that exist before it is applied.
    const vocab = (tok.tokenizerJson.model as { vocab: Record<string, number> }).vocab;
    for (const m of merges) {
      const [a, b] = m.split(' ') as [string, string];
      expect(vocab[a]).toBeLessThan(vocab[a + b] as number);
      expect(vocab[b]).toBeLessThan(vocab[a + b] as number);
    }
    expect(tok.encode(' bake').length).toBe(1);
    expect(tok.encode(' zebra').length).toBeGreaterThan(1);
  });

  it('keeps special tokens whole', () => {
    const ids = tok.encode('<|assistant|> bake<eos>');
    expect(ids[0]).toBe(tok.tokenToId('<|assistant|>'));
    expect(ids[ids.length - 1]).toBe(tok.eosId);
  });

  it('uses the GPT-2 byte map (256 distinct printable characters)', () => {
    const map = bytesToUnicode();
    expect(new Set(map).size).toBe(256);
    expect(map[32]).toBe('Ġ');
    expect(map[65]).toBe('A');
  });
});

describe('chat templates and errors', () => {
  it('renders the default template and a template from tokenizer_config.json', () => {
    const tok = trainWordLevel(corpus, { vocabSize: 100 });
    const msgs = [{ role: 'user' as const, content: 'how do i bake bread ?' }];
    expect(tok.applyChatTemplate(msgs, { addGenerationPrompt: true })).toBe(
      'BEGINNING OF CONVERSATION: USER: how do i bake bread ? ASSISTANT:',
    );
    const custom = new Tokenizer(tok.tokenizerJson, {
      ...tok.tokenizerConfig,
      chat_template: "{% for m in messages %}<|{{ m.role }}|> {{ m.content }} {% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
    });
    expect(custom.applyChatTemplate(msgs, { addGenerationPrompt: true })).toBe('<|user|> how do i bake bread ? <|assistant|>');
  });

  it('names the file when tokenizer.json is broken or missing', () => {
    const dir = tmp();
    expect(() => Tokenizer.fromDir(dir)).toThrow(/no tokenizer\.json/);
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": 3');
    expect(() => Tokenizer.fromDir(dir)).toThrow(TokenizerError);
    expect(() => Tokenizer.fromDir(dir)).toThrow(/tokenizer\.json: not a valid tokenizer file/);
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": {}}');
    expect(() => Tokenizer.fromDir(dir)).toThrow(/missing "model" with a "type"/);
  });
});
