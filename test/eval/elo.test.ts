import { describe, expect, it } from 'vitest';
import { bradleyTerryElo, eloWithIntervals, type Match } from '../../src/eval/elo.js';
import { Rng } from '../../src/world/rng.js';

/** A synthetic tournament between models of known Elo strength. */
function tournament(truth: Record<string, number>, games: number, seed: number): Match[] {
  const names = Object.keys(truth);
  const rng = new Rng(seed);
  const out: Match[] = [];
  for (let g = 0; g < games; g++) {
    const a = names[rng.int(names.length)] as string;
    let b = names[rng.int(names.length)] as string;
    while (b === a) b = names[rng.int(names.length)] as string;
    const pa = 1 / (1 + 10 ** (((truth[b] as number) - (truth[a] as number)) / 400));
    out.push({ a, b, winner: rng.next() < pa ? 'a' : 'b' });
  }
  return out;
}

describe('Elo from pairwise judgements', () => {
  const truth = { sft: 900, ppo: 1000, ppo_lag: 1150 };
  const matches = tournament(truth, 6000, 1);

  it('recovers the order and the gaps of a known tournament', () => {
    const e = bradleyTerryElo(matches, Object.keys(truth));
    expect((e.ppo_lag as number) - (e.ppo as number)).toBeGreaterThan(120);
    expect((e.ppo_lag as number) - (e.ppo as number)).toBeLessThan(180);
    expect((e.ppo as number) - (e.sft as number)).toBeGreaterThan(75);
    expect((e.ppo as number) - (e.sft as number)).toBeLessThan(125);
  });

  it('gives bootstrap intervals that contain the truth (up to the mean shift)', () => {
    const ratings = eloWithIntervals(matches, Object.keys(truth), 60, 3);
    expect(ratings.map((r) => r.model)).toEqual(['ppo_lag', 'ppo', 'sft']);
    const shift = 1000 - (900 + 1000 + 1150) / 3;
    for (const r of ratings) {
      expect(r.low).toBeLessThanOrEqual(r.elo);
      expect(r.high).toBeGreaterThanOrEqual(r.elo);
      const t = (truth as Record<string, number>)[r.model] as number;
      expect(t + shift).toBeGreaterThan(r.low - 10);
      expect(t + shift).toBeLessThan(r.high + 10);
    }
  });

  it('treats ties as half wins: equal models stay equal', () => {
    const ties: Match[] = Array.from({ length: 50 }, () => ({ a: 'x', b: 'y', winner: 'tie' }));
    const e = bradleyTerryElo(ties, ['x', 'y']);
    expect(e.x).toBeCloseTo(e.y as number, 6);
  });
});
