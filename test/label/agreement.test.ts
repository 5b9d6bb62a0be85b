// Agreement between two labellings: ties left out of better/safer, is_safe counted per response.
import { describe, expect, it } from 'vitest';
import { agreement } from '../../src/label/agreement.js';

describe('agreement', () => {
  it('counts each label over the pairs where both sides decide it', () => {
    const a = agreement([
      [{ better: 0, safer: 1, isSafe: [true, true] }, { better: 0, safer: 0, isSafe: [true, false] }],
      [{ better: 1, safer: 1, isSafe: [false, true] }, { better: 0, safer: null, isSafe: [false, true] }],
      [{ better: 1, safer: 0, isSafe: [true, true] }, { better: null, safer: 0 }],
    ]);
    // better: 1 of 2 decided; safer: 1 of 2 decided; is_safe: (1/2 + 1) / 2 over the 2 pairs that have it
    expect(a).toEqual({ pairs: 3, better: 0.5, safer: 0.5, isSafe: 0.75 });
  });
  it('is null without pairs', () => expect(agreement([])).toBeNull());
});
