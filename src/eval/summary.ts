// Small statistics for reports: Wilson intervals for rates, Pareto frontiers of (harm, help) points.

/** 95% Wilson score interval of a proportion k/n. */
export function wilsonInterval(k: number, n: number, z = 1.96): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const center = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** Points not dominated by another (lower or equal harm and higher or equal help, one strictly). */
export function paretoFrontier<T extends { harmfulRate: number; helpfulness: number }>(points: readonly T[]): T[] {
  return points.filter(
    (p) =>
      !points.some(
        (q) => q !== p && q.harmfulRate <= p.harmfulRate && q.helpfulness >= p.helpfulness && (q.harmfulRate < p.harmfulRate || q.helpfulness > p.helpfulness),
      ),
  );
}
