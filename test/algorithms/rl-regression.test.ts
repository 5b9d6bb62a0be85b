// PPO, shaping and PPO-Lagrangian on a tiny setup reproduce the committed logs and final parameters bit for bit.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runTiny, tinyConfig, TINY_METHODS, type TinyRunResult } from './rl-tiny.js';

// Written by test/algorithms/record-rl-baseline.ts before trainRl was split into phases.
const baseline = JSON.parse(readFileSync(new URL('./fixtures/rl-baseline.json', import.meta.url), 'utf8')) as Record<string, TinyRunResult>;

describe('trainRl regression (3 steps, 2 PPO epochs, mini-batches, PTX, judge)', () => {
  for (const name of TINY_METHODS) {
    it(`${name}: the same per-step log and final actor and critic parameters`, () => {
      const want = baseline[name] as TinyRunResult;
      const got = runTiny(name);
      expect(got.log).toEqual(want.log);
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
