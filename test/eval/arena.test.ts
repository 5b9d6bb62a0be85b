// The arena on hand-made scores: win/tie/loss per pair by reward (higher wins) and by cost (lower wins), and Elo from the same matches.
import { describe, expect, it } from 'vitest';
import { compareScores, playArena, scoreJudge } from '../../src/eval/arena.js';
import { distinctN } from '../../src/eval/diversity.js';
import { goldHeadToHead } from '../../src/eval/world-metrics.js';

// three models, five paired responses each
const reward = { sft: [1, 2, 3, 0, 5], ppo: [2, 2, 4, 1, 6], lag: [0, 1, 2, -1, 4] };
const cost = { sft: [1, 1, 1, 1, 1], ppo: [3, 2, 1, 4, 5], lag: [-2, -1, 1, -3, 0] };
const models = ['sft', 'ppo', 'lag'];

describe('compareScores', () => {
  it('higher wins for reward, lower wins for cost, equal (or within the margin) is a tie', () => {
    expect(compareScores(2, 1, 'higher')).toBe('a');
    expect(compareScores(1, 2, 'higher')).toBe('b');
    expect(compareScores(2, 1, 'lower')).toBe('b');
    expect(compareScores(-1, 0.5, 'lower')).toBe('a');
    expect(compareScores(1, 1, 'lower')).toBe('tie');
    expect(compareScores(1, 1.05, 'higher', 0.1)).toBe('tie');
  });
  it('an unscored response (NaN) loses to a scored one whichever judge, and two unscored tie', () => {
    for (const better of ['higher', 'lower'] as const) {
      expect(compareScores(NaN, 1, better)).toBe('b');
      expect(compareScores(1, NaN, better)).toBe('a');
      expect(compareScores(NaN, NaN, better)).toBe('tie');
    }
  });
});

describe('playArena', () => {
  it('counts win / tie / loss of the first model of each pair by reward (helpfulness)', () => {
    const { pairs } = playArena(models, 5, scoreJudge(reward, 'higher'));
    expect(pairs.map((p) => [p.a, p.b])).toEqual([['sft', 'ppo'], ['sft', 'lag'], ['ppo', 'lag']]);
    // sft vs ppo: 1<2, 2=2, 3<4, 0<1, 5<6
    expect(pairs[0]).toEqual({ a: 'sft', b: 'ppo', win: 0, tie: 0.2, loss: 0.8, n: 5 });
    // sft vs lag: sft higher on all five
    expect(pairs[1]).toEqual({ a: 'sft', b: 'lag', win: 1, tie: 0, loss: 0, n: 5 });
  });

  it('counts the cost judge the other way round: the lower cost (more harmless) wins', () => {
    const { pairs, elo } = playArena(models, 5, scoreJudge(cost, 'lower'), { rounds: 50 });
    // sft vs ppo: 1<3 win, 1<2 win, 1=1 tie, 1<4 win, 1<5 win
    expect(pairs[0]).toEqual({ a: 'sft', b: 'ppo', win: 0.8, tie: 0.2, loss: 0, n: 5 });
    // sft vs lag: lag lower on four, equal on one
    expect(pairs[1]).toEqual({ a: 'sft', b: 'lag', win: 0, tie: 0.2, loss: 0.8, n: 5 });
    // the most harmless model rates highest, the most harmful lowest
    expect(elo.map((e) => e.model)).toEqual(['lag', 'sft', 'ppo']);
    for (const e of elo) expect(e.low).toBeLessThanOrEqual(e.elo + 1e-9);
  });

  it('rates by reward in the opposite order from cost on these scores (Elo follows the judge)', () => {
    const { elo } = playArena(models, 5, scoreJudge(reward, 'higher'), { rounds: 50, seed: 3 });
    expect(elo.map((e) => e.model)).toEqual(['ppo', 'sft', 'lag']);
    const mean = elo.reduce((s, e) => s + e.elo, 0) / elo.length;
    expect(mean).toBeCloseTo(1000, 6);
  });

  it('is seeded: the same seed gives the same intervals', () => {
    const a = playArena(models, 5, scoreJudge(cost, 'lower'), { rounds: 30, seed: 7 });
    const b = playArena(models, 5, scoreJudge(cost, 'lower'), { rounds: 30, seed: 7 });
    expect(a).toEqual(b);
  });
});

describe('judges and diversity', () => {
  it('the gold judge prefers a safe answer over a harmful one, then the more helpful one', () => {
    const prompt = 'how do I bake bread';
    expect(goldHeadToHead(prompt, 'use flour yeast and salt', 'no')).toBe('a');
    expect(goldHeadToHead(prompt, 'no', 'no')).toBe('tie');
  });

  it('distinct-n is the share of unique word n-grams', () => {
    expect(distinctN(['a b a b'], 1)).toBe(0.5);
    expect(distinctN(['a b a b'], 2)).toBeCloseTo(2 / 3);
    expect(distinctN(['a', ''], 2)).toBe(0);
  });
});
