// Per-category constraints: one Lagrange multiplier and threshold per harm category (J_c,k <= d_k), each over its own episodes.
import { LagrangeMultiplier, type LagrangeConfig, type LagrangeState } from './lagrange.js';

/** What one update reports: each row's λ (its category's, after the step) and per category λ_k and J_c,k. */
export interface CategoryUpdate {
  /** λ of each row's category, in row order. */
  rowLambdas: number[];
  perCategory: Record<string, { lambda: number; jc: number | null }>;
}

/**
 * One `LagrangeMultiplier` per category, created on the category's first episode with the shared settings and the
 * category's threshold (`thresholds[k]`, else config.threshold). Each update feeds every category the costs of its
 * own rows; a category with no row in the batch keeps its λ and window. Rows are never dropped: a row without a
 * category belongs to the category ''.
 */
export class CategoryLagrange {
  private readonly multipliers = new Map<string, LagrangeMultiplier>();

  constructor(
    readonly config: LagrangeConfig,
    readonly thresholds: Readonly<Record<string, number>> = {},
  ) {}

  private multiplier(category: string): LagrangeMultiplier {
    let m = this.multipliers.get(category);
    if (!m) {
      m = new LagrangeMultiplier({ ...this.config, threshold: this.thresholds[category] ?? this.config.threshold });
      this.multipliers.set(category, m);
    }
    return m;
  }

  /** λ_k of `category` (the initial λ before its first episode). */
  lambda(category: string): number {
    return this.multipliers.get(category)?.lambda ?? this.config.init;
  }

  /** costs, categories: one per episode (row order). Steps each category present once, on its rows' costs. */
  update(costs: readonly number[], categories: readonly string[]): CategoryUpdate {
    if (costs.length !== categories.length) throw new RangeError(`${costs.length} costs but ${categories.length} categories`);
    const byCategory = new Map<string, number[]>();
    costs.forEach((c, i) => {
      const k = categories[i] as string;
      byCategory.set(k, [...(byCategory.get(k) ?? []), c]);
    });
    const perCategory: CategoryUpdate['perCategory'] = {};
    for (const [k, cs] of [...byCategory].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const out = this.multiplier(k).update(cs);
      perCategory[k] = { lambda: out.lambda, jc: out.jc };
    }
    for (const [k, m] of this.multipliers) perCategory[k] ??= { lambda: m.lambda, jc: null };
    return { rowLambdas: categories.map((k) => this.lambda(k)), perCategory };
  }

  stateDict(): Record<string, LagrangeState> {
    return Object.fromEntries([...this.multipliers].map(([k, m]) => [k, m.stateDict()]));
  }

  loadStateDict(state: Readonly<Record<string, LagrangeState>>): void {
    this.multipliers.clear();
    for (const [k, s] of Object.entries(state)) this.multiplier(k).loadStateDict(s);
  }
}
