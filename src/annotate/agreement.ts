// Agreement between annotators: percent agreement, Cohen's kappa, Fleiss' kappa, and majority votes with ties.

/** Result of a chance-corrected agreement statistic; `kappa` is null when it is undefined (expected agreement 1). */
export interface KappaResult {
  /** Chance-corrected agreement (1 perfect, 0 chance level, < 0 worse than chance). */
  kappa: number | null;
  /** Observed agreement: Cohen's p_o, Fleiss' P-bar. */
  observed: number;
  /** Agreement expected by chance: Cohen's p_e, Fleiss' P-bar_e. */
  expected: number;
  /** Items that entered the statistic. */
  items: number;
}

/**
 * Cohen's kappa for two raters: `pairs[i] = [rater A's category, rater B's category]` for item i.
 * kappa = (p_o - p_e) / (1 - p_e), p_e from each rater's own marginal distribution (Cohen 1960).
 */
export function cohensKappa<C>(pairs: readonly (readonly [C, C])[]): KappaResult {
  const n = pairs.length;
  if (n === 0) return { kappa: null, observed: Number.NaN, expected: Number.NaN, items: 0 };
  const a = new Map<C, number>();
  const b = new Map<C, number>();
  let agree = 0;
  for (const [x, y] of pairs) {
    if (x === y) agree += 1;
    a.set(x, (a.get(x) ?? 0) + 1);
    b.set(y, (b.get(y) ?? 0) + 1);
  }
  const observed = agree / n;
  let expected = 0;
  for (const [c, countA] of a) expected += (countA / n) * ((b.get(c) ?? 0) / n);
  return { kappa: kappaOf(observed, expected), observed, expected, items: n };
}

/**
 * Fleiss' kappa from a count matrix: `counts[i][j]` = raters who put item i in category j.
 * Items may have different numbers of raters (items with fewer than 2 are skipped):
 * P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1)), p_j = sum_i n_ij / sum_i n_i,
 * P-bar = mean_i P_i, P-bar_e = sum_j p_j^2. With a constant n_i this is Fleiss (1971).
 */
export function fleissKappaFromCounts(counts: readonly (readonly number[])[]): KappaResult {
  const rows = counts.filter((r) => sum(r) >= 2);
  if (rows.length === 0) return { kappa: null, observed: Number.NaN, expected: Number.NaN, items: 0 };
  const categories = Math.max(...rows.map((r) => r.length));
  const totals = new Array<number>(categories).fill(0);
  let ratings = 0;
  let pSum = 0;
  for (const r of rows) {
    const ni = sum(r);
    ratings += ni;
    let same = 0;
    r.forEach((nij, j) => {
      same += nij * (nij - 1);
      totals[j] = (totals[j] ?? 0) + nij;
    });
    pSum += same / (ni * (ni - 1));
  }
  const observed = pSum / rows.length;
  const expected = totals.reduce((acc, t) => acc + (t / ratings) ** 2, 0);
  return { kappa: kappaOf(observed, expected), observed, expected, items: rows.length };
}

/** Fleiss' kappa from the ratings of each item (any number of raters per item; see `fleissKappaFromCounts`). */
export function fleissKappa<C>(items: readonly (readonly C[])[]): KappaResult {
  const index = new Map<C, number>();
  for (const item of items) for (const c of item) if (!index.has(c)) index.set(c, index.size);
  const counts = items.map((item) => {
    const row = new Array<number>(index.size).fill(0);
    for (const c of item) {
      const j = index.get(c) as number;
      row[j] = (row[j] ?? 0) + 1;
    }
    return row;
  });
  return fleissKappaFromCounts(counts);
}

/**
 * Percent agreement: for each item with at least two ratings, the share of rater pairs that agree;
 * averaged over items (Fleiss' P-bar). With two raters per item it is the share of items they agree on.
 */
export function percentAgreement<C>(items: readonly (readonly C[])[]): { agreement: number; items: number } {
  let total = 0;
  let used = 0;
  for (const item of items) {
    if (item.length < 2) continue;
    let agree = 0;
    let pairs = 0;
    for (let i = 0; i < item.length; i++) {
      for (let j = i + 1; j < item.length; j++) {
        pairs += 1;
        if (item[i] === item[j]) agree += 1;
      }
    }
    total += agree / pairs;
    used += 1;
  }
  return { agreement: used === 0 ? Number.NaN : total / used, items: used };
}

/** Outcome of a majority vote: the winner, or a flagged tie between the most-voted values. */
export interface MajorityResult<C> {
  /** The value with strictly the most votes; undefined on a tie or with no votes. */
  winner: C | undefined;
  /** Two or more values share the highest count. */
  tie: boolean;
  /** The values sharing the highest count (one value when there is a winner). */
  leaders: C[];
  votes: number;
}

/** Majority vote; a tie for the top count is flagged rather than broken. */
export function majority<C>(votes: readonly C[]): MajorityResult<C> {
  const counts = new Map<C, number>();
  for (const v of votes) counts.set(v, (counts.get(v) ?? 0) + 1);
  const top = Math.max(0, ...counts.values());
  const leaders = [...counts].filter(([, c]) => c === top && top > 0).map(([v]) => v);
  const tie = leaders.length > 1;
  return { winner: tie ? undefined : leaders[0], tie, leaders, votes: votes.length };
}

function kappaOf(observed: number, expected: number): number | null {
  return expected >= 1 ? null : (observed - expected) / (1 - expected);
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
