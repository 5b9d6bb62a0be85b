// Embedding diversity through a tiny GPT-2: batching and padding do not change a text's embedding, long texts are cut and counted, no random draw.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCausalLM } from '../../src/algorithms/rl/folders.js';
import { embeddingDiversity, embedTexts, type Embedder } from '../../src/eval/embedding-diversity.js';
import { manualSeed, randn } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';
import { buildTinyChatModel } from '../helpers/tiny-chat-model.js';

const dir = mkdtempSync(join(tmpdir(), 'embed-div-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const { model, tokenizer } = loadCausalLM(buildTinyChatModel(dir, { context: 16 }).model, 'model');
const embedder: Embedder = { model, tokenizer: tokenizer as NonNullable<typeof tokenizer> };
const texts = ['the cat sat on the mat', 'dog', 'how do i make bread', '', 'red blue green tree house road car fast slow'];

describe('embedTexts', () => {
  it('gives each text the embedding it has alone (right padding and batch size change nothing)', () => {
    const batched = embedTexts(embedder, texts, 8).embeddings;
    const single = embedTexts(embedder, texts, 1).embeddings;
    expect(batched.shape).toEqual([texts.length, model.backbone.hiddenSize]);
    expectAllClose(batched, [...single.toFloat64Array()], { atol: 1e-5, rtol: 1e-4 });
    // the empty text is a row of zeros, left out of the distance
    expect([...batched.narrow(0, 3, 1).toFloat64Array()].every((x) => x === 0)).toBe(true);
  });

  it('cuts texts longer than the context and counts them', () => {
    const long = Array.from({ length: 40 }, () => 'cat').join(' ');
    expect(embedTexts(embedder, [long, 'dog'], 2).truncated).toBe(1);
  });

  it('is 0 for identical texts, positive for different ones', () => {
    expect(embeddingDiversity(embedder, ['the cat sat', 'the cat sat', 'the cat sat']).diversity).toBeCloseTo(0, 6);
    expect(embeddingDiversity(embedder, texts).diversity).toBeGreaterThan(0.01);
  });

  it('draws no random numbers and leaves the model in its mode', () => {
    model.train();
    manualSeed(5);
    const expected = [...randn([4]).toFloat64Array()];
    manualSeed(5);
    embeddingDiversity(embedder, texts);
    expect([...randn([4]).toFloat64Array()]).toEqual(expected);
    expect(model.backbone.training).toBe(true);
  });
});
