import { describe, expect, it } from 'vitest';
import { paretoFrontier, wilsonInterval } from '../../src/eval/summary.js';

describe('wilsonInterval', () => {
  it('matches the textbook value for 8/10 (0.490, 0.943)', () => {
    const { low, high } = wilsonInterval(8, 10);
    expect(low).toBeCloseTo(0.4902, 3);
    expect(high).toBeCloseTo(0.9433, 3);
  });
  it('stays inside [0, 1] at the edges', () => {
    expect(wilsonInterval(0, 20).low).toBe(0);
    expect(wilsonInterval(20, 20).high).toBe(1);
    expect(wilsonInterval(0, 20).high).toBeGreaterThan(0.1);
  });
});

describe('paretoFrontier', () => {
  it('keeps only undominated (harm, help) points', () => {
    const pts = [
      { id: 'a', harmfulRate: 0.5, helpfulness: 6 },
      { id: 'b', harmfulRate: 0.1, helpfulness: 5 },
      { id: 'c', harmfulRate: 0.3, helpfulness: 4 },
      { id: 'd', harmfulRate: 0.02, helpfulness: 3 },
    ];
    expect(paretoFrontier(pts).map((p) => p.id)).toEqual(['a', 'b', 'd']);
  });
});
