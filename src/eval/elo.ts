// Elo ratings of model versions from pairwise judgements: Bradley–Terry maximum likelihood with bootstrap intervals.
import { Rng } from '../world/rng.js';

export interface Match {
  a: string;
  b: string;
  winner: 'a' | 'b' | 'tie';
}

export interface EloRating {
  model: string;
  elo: number;
  low: number;
  high: number;
}

/**
 * Bradley–Terry strengths by the MM algorithm (Hunter 2004), ties counted as half a win each,
 * reported on the Elo scale (400·log10, mean 1000). A model that never loses or never wins is
 * kept finite by a small prior of one tie against every other model.
 */
export function bradleyTerryElo(matches: readonly Match[], models: readonly string[], iterations = 200): Record<string, number> {
  const idx = new Map(models.map((m, i) => [m, i]));
  const n = models.length;
  const wins = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) (wins[i] as number[])[j] = 0.05; // prior
  for (const m of matches) {
    const i = idx.get(m.a);
    const j = idx.get(m.b);
    if (i === undefined || j === undefined) continue;
    const wi = m.winner === 'a' ? 1 : m.winner === 'tie' ? 0.5 : 0;
    (wins[i] as number[])[j] = ((wins[i] as number[])[j] as number) + wi;
    (wins[j] as number[])[i] = ((wins[j] as number[])[i] as number) + (1 - wi);
  }
  let p = new Array<number>(n).fill(1);
  for (let it = 0; it < iterations; it++) {
    const next = p.map((pi, i) => {
      let w = 0;
      let denom = 0;
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const wij = (wins[i] as number[])[j] as number;
        const wji = (wins[j] as number[])[i] as number;
        w += wij;
        denom += (wij + wji) / (pi + (p[j] as number));
      }
      return denom > 0 ? w / denom : pi;
    });
    const geo = Math.exp(next.reduce((s, v) => s + Math.log(v), 0) / n);
    p = next.map((v) => v / geo);
  }
  return Object.fromEntries(models.map((m, i) => [m, 1000 + (400 * Math.log(p[i] as number)) / Math.LN10]));
}

/** Elo with a 95% bootstrap interval (matches resampled with replacement, seeded). */
export function eloWithIntervals(matches: readonly Match[], models: readonly string[], rounds = 200, seed = 0): EloRating[] {
  const point = bradleyTerryElo(matches, models);
  const rng = new Rng(seed);
  const samples: Record<string, number[]> = Object.fromEntries(models.map((m) => [m, []]));
  for (let r = 0; r < rounds; r++) {
    const resampled = matches.map(() => matches[rng.int(matches.length)] as Match);
    const e = bradleyTerryElo(resampled, models, 100);
    for (const m of models) samples[m]?.push(e[m] as number);
  }
  return models
    .map((m) => {
      const s = [...(samples[m] as number[])].sort((x, y) => x - y);
      const q = (f: number) => s[Math.min(s.length - 1, Math.max(0, Math.floor(f * s.length)))] as number;
      return { model: m, elo: point[m] as number, low: q(0.025), high: q(0.975) };
    })
    .sort((x, y) => y.elo - x.elo);
}
