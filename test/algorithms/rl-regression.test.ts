// PPO, shaping and PPO-Lagrangian on a tiny setup reproduce the committed logs and final parameters bit for bit.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRlContext, setLearningRates } from '../../src/algorithms/rl/context.js';
import { runTiny, tinyConfig, tinyMethod, tinyModels, TINY_METHODS, type TinyRunResult } from './rl-tiny.js';

// Written by test/algorithms/record-rl-baseline.ts before trainRl was split into phases; rewritten when the actor and critic
// updates moved to length buckets (sums in another order: every logged number within 2.2e-7 of the old file's; the bucketed
// updates equal the padded ones to 1e-5 in losses and gradients, test/algorithms/length-buckets.test.ts); rewritten when the last
// layer began to run on the positions read only (generation's prompt pass, reference, score models, critics, actor): every
// logged number within 7.5e-7 of the old file's, the first actor parameters within 1e-7 (test/models/keep-positions.test.ts).
// Rewritten when attention became one native op (native/nn.cc: decoding as a product and sum, the scale and the bias inside the
// matrix product): every logged number within 6.6e-7 of the old file's, the sampled actor parameters within 4.5e-8
// (test/models/attention-op.test.ts: values and gradients equal the unfused computation to 1e-5). Rewritten when GPT-2's tanh
// GELU became a vectorised kernel of our own (native/kernels.cc, within 6e-7 of ATen's): every logged number within 3.1e-6
// of the old file's (1.7e-6 relative), the sampled actor parameters within 3.9e-7, the sampled tokens unchanged. Rewritten
// when AdamW's step became one fused pass (native/kernels.cc; test/torch/adamw-fused.test.ts): every logged number within
// 1.4e-6 of the file before (2.1e-6 relative), the sampled tokens unchanged.
const baseline = JSON.parse(readFileSync(new URL('./fixtures/rl-baseline.json', import.meta.url), 'utf8')) as Record<string, TinyRunResult>;

describe('trainRl regression (3 steps, 2 PPO epochs, mini-batches, PTX, judge)', () => {
  for (const name of TINY_METHODS) {
    it(`${name}: the same per-step log and final actor and critic parameters`, () => {
      const want = baseline[name] as TinyRunResult;
      const got = runTiny(name);
      // the diversity fields came later (logged from the rollouts' text, no random draw); every other field stays as recorded
      const withoutDiversity = got.log.map(({ distinct1, distinct2, selfBleu, rougeL, embeddingDiversity, ...rest }) => {
        expect([distinct1, distinct2, selfBleu, rougeL].every(Number.isFinite)).toBe(true);
        expect(embeddingDiversity === undefined || embeddingDiversity > 0).toBe(true);
        return rest;
      });
      expect(got.log.at(-1)?.embeddingDiversity).toBeGreaterThan(0);
      expect(withoutDiversity).toEqual(want.log);
      expect(got.actorSample).toEqual(want.actorSample);
      expect(got.actorHash).toBe(want.actorHash);
      expect(got.criticHashes).toEqual(want.criticHashes);
    });
  }
});

describe('rl.lossAggregation', () => {
  it("reaches the actor and critic losses: a 1-step run differs between 'token' and 'per-sequence' (same rollout)", () => {
    const token = runTiny('ppo_lag', tinyConfig({ steps: 1 }));
    const perSeq = runTiny('ppo_lag', tinyConfig({ steps: 1, lossAggregation: 'per-sequence' }));
    // Same rollout and scores (sampled before any update) ...
    expect(perSeq.log[0]?.reward).toBe(token.log[0]?.reward);
    expect(perSeq.log[0]?.responseLength).toBe(token.log[0]?.responseLength);
    // ... but other losses and other parameters after the update.
    expect(perSeq.log[0]?.actorLoss).not.toBe(token.log[0]?.actorLoss);
    expect(perSeq.log[0]?.criticLoss.reward).not.toBe(token.log[0]?.criticLoss.reward);
    expect(perSeq.log[0]?.criticLoss.cost).not.toBe(token.log[0]?.criticLoss.cost);
    expect(perSeq.actorHash).not.toBe(token.actorHash);
    expect(perSeq.criticHashes.reward).not.toBe(token.criticHashes.reward);
  });
});

describe('rl.actorOptim / rl.criticOptim schedules', () => {
  it('set the learning rate of each RL step (linear decay over 3 steps, cosine with warm-up)', () => {
    const config = tinyConfig({ actorOptim: { lr: 0.03, schedule: 'linear' }, criticOptim: { lr: 0.01, schedule: 'cosine', warmupRatio: 0.34 } });
    const method = tinyMethod('ppo_lag');
    const ctx = createRlContext(method, tinyModels(method).models, config, [], 0);
    const lrs = [0, 1, 2].map((step) => {
      setLearningRates(ctx, step);
      return [ctx.actorOpt.lr, ...ctx.criticOpts.map((o) => o.lr)];
    });
    // actor: 0.03·(1, 2/3, 1/3); critics: warm-up step (1/1), then cosine from 1 over the 2 remaining steps.
    expect(lrs.map((r) => r[0])).toEqual([0.03, 0.03 * (2 / 3), 0.03 * (1 / 3)].map((x) => expect.closeTo(x, 12) as unknown as number));
    expect(lrs.map((r) => r[1])).toEqual([0.01, 0.01, 0.01 * 0.5 * (1 + Math.cos(Math.PI / 2))].map((x) => expect.closeTo(x, 12) as unknown as number));
    expect(lrs.every((r) => r[1] === r[2])).toBe(true);
  });
  it('reach training: a linear actor schedule leaves step 1 as with a constant rate and changes step 2', () => {
    const constant = runTiny('ppo', tinyConfig({ steps: 2 }));
    const linear = runTiny('ppo', tinyConfig({ steps: 2, actorOptim: { lr: 1e-2, schedule: 'linear' } }));
    expect(linear.log[0]).toEqual(constant.log[0]);
    expect(linear.log[1]).not.toEqual(constant.log[1]);
  });
});
