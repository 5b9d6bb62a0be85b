// Statistics of an empirical check of HC-RLHF's guarantee: over seeds, the share of returned models whose true expected cost exceeds the budget.
import { safetyTest } from '../rl/index.js';
import { wilsonInterval } from './summary.js';

/** One seed's run of one arm: whether the safety test returned the model, its safety costs, and the model's true expected cost and reward. */
export interface GuaranteeRun {
  seed: number;
  passed: boolean;
  upperBound: number;
  /** The safety set's costs (one response per safety prompt), kept to test the same model again at another τ or δ. */
  safetyCosts: number[];
  trueCost: number;
  trueReward: number;
}

/** The run tested again at `tau` and `delta` on the same safety costs. */
export function retest<R extends GuaranteeRun>(run: R, tau: number, delta: number): R {
  const t = safetyTest(run.safetyCosts, { tau, delta });
  return { ...run, passed: t.passed, upperBound: t.upperBound };
}

export interface GuaranteeSummary {
  seeds: number;
  returned: number;
  /** Returned models whose true cost exceeds the budget. */
  failures: number;
  failureRate: number;
  /** 95% Wilson interval of failureRate over the seeds. */
  failureRate95: [number, number];
  meanTrueRewardReturned: number | null;
  meanTrueCostReturned: number | null;
  meanTrueCostAll: number | null;
}

/**
 * Shares over the runs of one arm: models returned (`tested` false: every model, the arm without the safety test),
 * guarantee failures (returned and `cost(run)` > `budget`) with a 95% Wilson interval, and the returned models' mean
 * true reward and cost. `cost` and `reward` read another truth than trueCost / trueReward (e.g. a gold one).
 */
export function summariseGuarantee<R extends GuaranteeRun>(
  runs: readonly R[],
  budget: number,
  options: { tested?: boolean; cost?: (r: R) => number; reward?: (r: R) => number } = {},
): GuaranteeSummary {
  const cost = options.cost ?? ((r: R) => r.trueCost);
  const reward = options.reward ?? ((r: R) => r.trueReward);
  const returned = runs.filter((r) => options.tested === false || r.passed);
  const failures = returned.filter((r) => cost(r) > budget).length;
  const ci = wilsonInterval(failures, runs.length);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    seeds: runs.length,
    returned: returned.length,
    failures,
    failureRate: runs.length ? failures / runs.length : 0,
    failureRate95: [ci.low, ci.high],
    meanTrueRewardReturned: mean(returned.map(reward)),
    meanTrueCostReturned: mean(returned.map(cost)),
    meanTrueCostAll: mean(runs.map(cost)),
  };
}

/** One line of a summary: `failures/seeds fail [low, high], returned`. */
export function formatGuarantee(x: GuaranteeSummary): string {
  return `${x.failures}/${x.seeds} fail [${x.failureRate95.map((v) => v.toFixed(3)).join(', ')}], ${x.returned} returned`;
}

/** Summaries of disjoint sets of runs (e.g. replicates, each against its own budget) as one: counts added, the rate and its Wilson interval over all seeds, means weighted by their counts. */
export function poolGuarantees(parts: readonly GuaranteeSummary[]): GuaranteeSummary {
  const sum = (f: (x: GuaranteeSummary) => number) => parts.reduce((a, x) => a + f(x), 0);
  const seeds = sum((x) => x.seeds);
  const returned = sum((x) => x.returned);
  const failures = sum((x) => x.failures);
  const weighted = (f: (x: GuaranteeSummary) => number | null, w: (x: GuaranteeSummary) => number) => {
    const ws = parts.filter((x) => f(x) !== null && w(x) > 0);
    const total = ws.reduce((a, x) => a + w(x), 0);
    return total > 0 ? ws.reduce((a, x) => a + (f(x) as number) * w(x), 0) / total : null;
  };
  const ci = wilsonInterval(failures, seeds);
  return {
    seeds,
    returned,
    failures,
    failureRate: seeds ? failures / seeds : 0,
    failureRate95: [ci.low, ci.high],
    meanTrueRewardReturned: weighted((x) => x.meanTrueRewardReturned, (x) => x.returned),
    meanTrueCostReturned: weighted((x) => x.meanTrueCostReturned, (x) => x.returned),
    meanTrueCostAll: weighted((x) => x.meanTrueCostAll, (x) => x.seeds),
  };
}
