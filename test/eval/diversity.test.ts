// Diversity metrics against reference/diversity.py: pairwise ROUGE-L, BLEU / self-BLEU (plain-Python definitions), mean pooling and cosine distance (PyTorch).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { distinctN, evenSample, meanCosineDistance, meanPool, pairwiseRougeL, rougeL, selfBleu, sentenceBleu } from '../../src/eval/diversity.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose, type Nested } from '../helpers/allclose.js';

interface Golden {
  sets: Record<string, { texts: string[]; rougeL: number; selfBleu: number }>;
  rougePairs: { a: string; b: string; f: number }[];
  bleu: { candidate: string; references: string[]; bleu: number }[];
  embedding: { hidden: number[][][]; mask: number[][]; pooled: Nested; distance: number; collapse: number[][]; collapseDistance: number };
}
const golden = JSON.parse(readFileSync(new URL('../../reference/golden/diversity.json', import.meta.url), 'utf8')) as Golden;

describe('text diversity', () => {
  it('ROUGE-L F1 of pairs matches the reference', () => {
    for (const { a, b, f } of golden.rougePairs) {
      expect(rougeL(a, b), `${a} / ${b}`).toBeCloseTo(f, 12);
      expect(rougeL(b, a)).toBeCloseTo(f, 12);
    }
  });

  it('sentence BLEU-4 (smoothing 1, effective order, closest-length brevity penalty) matches the reference', () => {
    for (const { candidate, references, bleu } of golden.bleu) expect(sentenceBleu(candidate, references), candidate).toBeCloseTo(bleu, 12);
  });

  it('pairwise ROUGE-L and self-BLEU of response sets match the reference', () => {
    for (const [name, s] of Object.entries(golden.sets)) {
      expect(pairwiseRougeL(s.texts), `${name} ROUGE-L`).toBeCloseTo(s.rougeL, 12);
      expect(selfBleu(s.texts), `${name} self-BLEU`).toBeCloseTo(s.selfBleu, 12);
    }
  });

  it('a collapsed set scores as less diverse than a varied one on every metric', () => {
    const { collapsed, world } = golden.sets as Record<'collapsed' | 'world', { texts: string[] }>;
    expect(pairwiseRougeL(collapsed.texts)).toBeGreaterThan(pairwiseRougeL(world.texts));
    expect(selfBleu(collapsed.texts)).toBeGreaterThan(selfBleu(world.texts));
    expect(distinctN(collapsed.texts, 2)).toBeLessThan(distinctN(world.texts, 2));
    expect(pairwiseRougeL(['same words', 'same words'])).toBe(1);
    expect(selfBleu(['a b c d e', 'a b c d e'])).toBeCloseTo(1, 12);
    expect(selfBleu(['only one'])).toBe(0);
  });

  it('evenSample keeps at most max items, spread over the list, in order', () => {
    expect(evenSample([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4)).toEqual([0, 2, 5, 7]);
    expect(evenSample([1, 2], 5)).toEqual([1, 2]);
  });
});

describe('embedding diversity', () => {
  it('mean pooling under the mask matches PyTorch', () => {
    const e = golden.embedding;
    const pooled = meanPool(tensor(e.hidden, { dtype: 'float64' }), tensor(e.mask, { dtype: 'float64' }));
    expectAllClose(pooled, e.pooled, { atol: 1e-12, rtol: 1e-12 });
  });

  it('mean pairwise cosine distance matches PyTorch, rows without tokens left out', () => {
    const e = golden.embedding;
    const pooled = meanPool(tensor(e.hidden, { dtype: 'float64' }), tensor(e.mask, { dtype: 'float64' }));
    expect(meanCosineDistance(pooled)).toBeCloseTo(e.distance, 12);
    expect(meanCosineDistance(tensor(e.collapse, { dtype: 'float64' }))).toBeCloseTo(e.collapseDistance, 12);
    expect(meanCosineDistance(tensor([[1, 2, 3]], { dtype: 'float64' }))).toBe(0);
  });
});
