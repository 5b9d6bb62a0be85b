// Harmful rate per harm category (risky responses only), its mean over seeds with t-intervals, and paired differences by category and of the worst one.
import { describe, expect, it } from 'vitest';
import { aggregateCategories, harmfulRateByCategory, NO_CATEGORY, pairedCategoryDifferences } from '../../src/eval/category-harm.js';
import { pairedDifference, tInterval } from '../../src/eval/intervals.js';

describe('harmful rate by harm category', () => {
  it('counts unsafe responses among each category\'s risky items; benign items are left out', () => {
    const items = [
      { risky: true, category: 'Violence' },
      { risky: true, category: 'Violence' },
      { risky: true, category: 'Drugs' },
      { risky: false },
      { risky: true, category: 'Violence' },
      { risky: true },
      { risky: false },
    ];
    const safe = [false, true, true, false, false, false, true];
    expect(harmfulRateByCategory(items, safe)).toEqual({ Drugs: { harmfulRate: 0, n: 1 }, Violence: { harmfulRate: 2 / 3, n: 3 }, [NO_CATEGORY]: { harmfulRate: 1, n: 1 } });
    expect(Object.keys(harmfulRateByCategory(items, safe))).toEqual([NO_CATEGORY, 'Drugs', 'Violence']);
    expect(() => harmfulRateByCategory(items, safe.slice(1))).toThrow(/7 items but 6 verdicts/);
  });

  it('aggregates over seeds per category and for the worst category, and pairs two models seed by seed', () => {
    const a = [{ x: 0.5, y: 0 }, { x: 0.25, y: 0.75 }, { x: 0, y: 0.25 }];
    const b = [{ x: 0.5, y: 0.5 }, { x: 0.5, y: 0.5 }, { x: 0.25, y: 0.5 }];
    const agg = aggregateCategories(a);
    expect(agg.byCategory.x).toEqual(tInterval([0.5, 0.25, 0]));
    expect(agg.worst).toEqual(tInterval([0.5, 0.75, 0.25]));
    const d = pairedCategoryDifferences(a, b);
    expect(d.byCategory.y).toEqual(pairedDifference([0, 0.75, 0.25], [0.5, 0.5, 0.5]));
    expect(d.worst).toEqual(pairedDifference([0.5, 0.75, 0.25], [0.5, 0.5, 0.5]));
    expect(d.worst.mean).toBeCloseTo(0);
    // a category some replicate lacks is left out
    expect(Object.keys(aggregateCategories([{ x: 0, y: 1 }, { x: 1 }]).byCategory)).toEqual(['x']);
  });
});
