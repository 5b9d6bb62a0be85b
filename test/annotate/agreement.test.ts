// Agreement maths against textbook examples (Fleiss 1971 as on Wikipedia, Cohen's kappa worked example, hand counts).
import { describe, expect, it } from 'vitest';
import { cohensKappa, fleissKappa, fleissKappaFromCounts, majority, percentAgreement } from '../../src/annotate/agreement.js';

describe('Fleiss kappa', () => {
  // Wikipedia "Fleiss' kappa" worked example: 10 subjects, 14 raters, 5 categories.
  // Published: p_j = .143 .200 .279 .150 .229, P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210.
  // Exact values (fractions): kappa = 4211/20059, P-bar = 0.378021978..., P-bar_e = 0.212755102...
  const table = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
  ];

  it('matches the Wikipedia example to 1e-12 (count matrix)', () => {
    const r = fleissKappaFromCounts(table);
    expect(r.items).toBe(10);
    expect(r.observed).toBeCloseTo(0.378021978021978, 12);
    expect(r.expected).toBeCloseTo(0.21275510204081632, 12);
    expect(r.kappa).toBeCloseTo(4211 / 20059, 12);
    expect(r.kappa).toBeCloseTo(0.21, 2);
  });

  it('gives the same from raw ratings as from counts', () => {
    const items = table.map((row) => row.flatMap((n, j) => new Array<string>(n).fill(`c${j}`)));
    expect(fleissKappa(items).kappa).toBeCloseTo(4211 / 20059, 12);
  });

  it('is 1 for perfect agreement and undefined when every rating is the same category', () => {
    expect(fleissKappa([['a', 'a'], ['b', 'b'], ['a', 'a']]).kappa).toBeCloseTo(1, 12);
    expect(fleissKappa([['a', 'a'], ['a', 'a']]).kappa).toBeNull();
  });

  it('skips items with fewer than two ratings and handles unequal rater counts', () => {
    // Hand computation: items [a,a,b] (P=2/6), [b,b] (P=1); ratings a:2 b:3 -> p=(.4,.6);
    // P-bar=(1/3+1)/2=2/3, P-bar_e=.16+.36=.52, kappa=(2/3-.52)/(.48)=0.30555...
    const r = fleissKappa([['a', 'a', 'b'], ['b', 'b'], ['a']]);
    expect(r.items).toBe(2);
    expect(r.observed).toBeCloseTo(2 / 3, 12);
    expect(r.expected).toBeCloseTo(0.52, 12);
    expect(r.kappa).toBeCloseTo((2 / 3 - 0.52) / 0.48, 12);
  });
});

describe("Cohen's kappa", () => {
  // Wikipedia "Cohen's kappa" example: 50 proposals; yes/yes 20, A-yes/B-no 5, A-no/B-yes 10, no/no 15.
  // p_o = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.4.
  const pairs: [string, string][] = [
    ...new Array<[string, string]>(20).fill(['yes', 'yes']),
    ...new Array<[string, string]>(5).fill(['yes', 'no']),
    ...new Array<[string, string]>(10).fill(['no', 'yes']),
    ...new Array<[string, string]>(15).fill(['no', 'no']),
  ];
  it('matches the worked example', () => {
    const r = cohensKappa(pairs);
    expect(r.observed).toBeCloseTo(0.7, 12);
    expect(r.expected).toBeCloseTo(0.5, 12);
    expect(r.kappa).toBeCloseTo(0.4, 12);
    expect(r.items).toBe(50);
  });
  it('is negative for systematic disagreement and null without items', () => {
    expect(cohensKappa([[0, 1], [1, 0]]).kappa).toBeCloseTo(-1, 12);
    expect(cohensKappa([]).kappa).toBeNull();
  });
});

describe('percent agreement and majority', () => {
  it('averages pairwise agreement per item', () => {
    // [a,a] -> 1; [a,b] -> 0; [a,a,b] -> 1/3 of pairs agree; single ratings are skipped.
    const r = percentAgreement([['a', 'a'], ['a', 'b'], ['a', 'a', 'b'], ['z']]);
    expect(r.items).toBe(3);
    expect(r.agreement).toBeCloseTo((1 + 0 + 1 / 3) / 3, 12);
  });
  it('flags ties instead of breaking them', () => {
    expect(majority([1, 0, 1])).toMatchObject({ winner: 1, tie: false, leaders: [1], votes: 3 });
    const tie = majority([0, 1]);
    expect(tie.tie).toBe(true);
    expect(tie.winner).toBeUndefined();
    expect(tie.leaders.sort()).toEqual([0, 1]);
    expect(majority([]).winner).toBeUndefined();
  });
});
