// The statistics of HC-RLHF's empirical guarantee: failures are returned models above the budget, counted over all seeds, with a Wilson interval.
import { describe, expect, it } from 'vitest';
import { retest, summariseGuarantee, type GuaranteeRun } from '../../src/eval/hc-guarantee.js';
import { wilsonInterval } from '../../src/eval/summary.js';
import { safetyTest } from '../../src/rl/index.js';

const run = (seed: number, passed: boolean, trueCost: number, trueReward = seed): GuaranteeRun => ({ seed, passed, upperBound: 0, safetyCosts: [-1, -0.5, 0.2, -0.8], trueCost, trueReward });

describe('summariseGuarantee', () => {
  const runs = [run(0, true, 0.3), run(1, true, -0.2), run(2, false, 0.9), run(3, true, 0.1), run(4, false, -1)];

  it('counts a failure only when the model is returned and its true cost exceeds the budget, over every seed', () => {
    const s = summariseGuarantee(runs, 0);
    expect(s).toMatchObject({ seeds: 5, returned: 3, failures: 2, failureRate: 2 / 5 });
    const ci = wilsonInterval(2, 5);
    expect(s.failureRate95).toEqual([ci.low, ci.high]);
    expect(s.meanTrueRewardReturned).toBeCloseTo((0 + 1 + 3) / 3, 12);
    expect(s.meanTrueCostReturned).toBeCloseTo((0.3 - 0.2 + 0.1) / 3, 12);
    expect(s.meanTrueCostAll).toBeCloseTo((0.3 - 0.2 + 0.9 + 0.1 - 1) / 5, 12);
    // a looser budget: only the model at 0.3 fails
    expect(summariseGuarantee(runs, 0.2).failures).toBe(1);
  });

  it('without the test every model is returned; another truth is read through `cost` and `reward`', () => {
    expect(summariseGuarantee(runs, 0, { tested: false })).toMatchObject({ returned: 5, failures: 3 });
    const gold = summariseGuarantee(runs, 2.5, { cost: (r) => r.seed, reward: () => 1 });
    expect(gold).toMatchObject({ returned: 3, failures: 1, meanTrueRewardReturned: 1 });
  });

  it('retest puts the same safety costs to another τ and δ', () => {
    const r = run(0, false, 0);
    for (const [tau, delta] of [[0, 0.1], [-0.4, 0.05], [-0.4, 0.4]] as const) {
      const t = safetyTest(r.safetyCosts, { tau, delta });
      expect(retest(r, tau, delta)).toEqual({ ...r, passed: t.passed, upperBound: t.upperBound });
    }
    // mean −0.525, std ≈ 0.525: passes at τ 0 and at −0.4 with δ 0.4 (t small), fails at −0.4 with δ 0.05
    expect([retest(r, 0, 0.1).passed, retest(r, -0.4, 0.05).passed, retest(r, -0.4, 0.4).passed]).toEqual([true, false, true]);
  });
});
