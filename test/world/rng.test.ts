import { describe, expect, it } from 'vitest';
import { hashString, Rng } from '../../src/world/rng.js';

describe('Rng (splitmix32)', () => {
  it('matches an independent Python splitmix32 for seed 42', () => {
    // /usr/bin/python3: s += 0x9e3779b9; z = s; z = (z ^ z>>16) * 0x21f0aaad; z = (z ^ z>>15) * 0x735a2d97; z ^ z>>15 (mod 2^32)
    const r = new Rng(42);
    expect([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([551831576, 144025891, 322543647, 3034809370]);
  });

  it('is deterministic per seed, and derived streams do not depend on how far the parent has run', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(new Rng(7).next()).not.toBe(new Rng(8).next());
    const fresh = new Rng(7).derive('x').next();
    expect(a.derive('x').next()).toBe(fresh);
    expect(new Rng(7).derive('y').next()).not.toBe(fresh);
    expect(hashString('abc')).toBe(0x1a47e90b); // FNV-1a 32 of "abc"
  });

  it('draws with the right frequencies (tolerance 0.02 on 20,000 draws)', () => {
    const r = new Rng(1);
    const n = 20000;
    let sum = 0;
    let hits = 0;
    const counts = { a: 0, b: 0, c: 0 };
    let normSum = 0;
    let normSq = 0;
    for (let i = 0; i < n; i++) {
      sum += r.next();
      if (r.bernoulli(0.3)) hits += 1;
      counts[r.weighted({ a: 1, b: 2, c: 1 })] += 1;
      const z = r.normal();
      normSum += z;
      normSq += z * z;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(hits / n - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(counts.b / n - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(normSum / n)).toBeLessThan(0.03);
    expect(Math.abs(normSq / n - 1)).toBeLessThan(0.05);
  });

  it('shuffles into a permutation and samples distinct items', () => {
    const r = new Rng(3);
    const xs = Array.from({ length: 20 }, (_, i) => i);
    const s = r.shuffle(xs);
    expect([...s].sort((a, b) => a - b)).toEqual(xs);
    expect(s).not.toEqual(xs);
    expect(new Set(r.sample(xs, 5)).size).toBe(5);
    expect(() => r.pick([])).toThrow(RangeError);
  });
});
