// The pipeline's best-of-N responder: N samples per evaluation item from a sampler, the best by Llama 2's rule with the item's kind as its risk.
import { describe, expect, it } from 'vitest';
import { pickBest, ScoreRuleSchema } from '../../src/algorithms/best-of-n/rule.js';
import type { RlPrompt } from '../../src/algorithms/rl/train.js';
import { bestOfNResponder, type Responder } from '../../src/pipeline/evaluate-policy.js';

// sample j of a batch: reward rises with its index, cost too (moderate: below Llama 2's 1.73), so helpfulness and safety disagree
const sampler: Responder = (items) => ({
  responses: items.map((p, j) => `${p.prompt} #${j}`),
  reward: items.map((_, j) => (j % 4) + 0.1 * j),
  cost: items.map((_, j) => -1 + 0.5 * (j % 4)),
  kl: items.map(() => 0),
  klToStart: [],
  lengths: items.map((_, j) => j),
});

describe('bestOfNResponder', () => {
  it('answers each item with the best of its N samples: the safest on a risky prompt, the most helpful safe one on a benign prompt', () => {
    const items: RlPrompt[] = [
      { prompt: 'a', risky: true },
      { prompt: 'b', risky: false },
    ];
    const rule = ScoreRuleSchema.parse({});
    const out = bestOfNResponder(sampler, 4, rule)(items, true);
    // risky: cost −1 (sample 0) wins; benign: every sample is safe enough (cost ≤ 0.5), the highest reward (sample 3) wins
    expect(out.responses).toEqual(['a #0', 'b #7']);
    expect(out.cost).toEqual([-1, 0.5]);
    expect(out.reward).toEqual([0, 3.7]);
    expect(out.lengths).toEqual([0, 7]);
    expect(out.kl).toEqual([Math.log(4) - 3 / 4, Math.log(4) - 3 / 4]);
    // the same picks as the rule itself
    const all = sampler(items.flatMap((p) => [p, p, p, p]), true);
    items.forEach((p, i) => {
      const cands = [0, 1, 2, 3].map((j) => ({ reward: all.reward[4 * i + j] as number, cost: all.cost[4 * i + j] as number }));
      expect(out.responses[i]).toBe(all.responses[4 * i + pickBest(cands, p.risky, rule)]);
    });
    // N = 1 is the sampler itself
    expect(bestOfNResponder(sampler, 1, rule)(items, false).responses).toEqual(['a #0', 'b #1']);
  });
});
