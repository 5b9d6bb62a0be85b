// PPO-max's switches: running reward/cost normalisation and clipping, advantage clipping (against reference/golden/ppo_max.json), critic warm-up; all off by default.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ppoMethod } from '../../src/algorithms/ppo/method.js';
import { GrpoSchema } from '../../src/algorithms/grpo/config.js';
import { grpoMethod } from '../../src/algorithms/grpo/method.js';
import { RlConfigSchema } from '../../src/algorithms/rl/config.js';
import { actorAdvantages, createRlContext, rlStep, sampleRollout } from '../../src/algorithms/rl/phases.js';
import { createScoreNormalizers } from '../../src/algorithms/rl/score-normalization.js';
import { encodePrompt } from '../../src/algorithms/common/batching.js';
import { gaeEstimator } from '../../src/algorithms/rl/estimators.js';
import type { RlMethod } from '../../src/algorithms/rl/method.js';
import { manualSeed, tensor, type Tensor } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';
import { expectAllClose } from '../helpers/allclose.js';
import { paramHash, tinyActor, tinyConfig, tinyModels, tinyPrompts } from '../algorithms/rl-tiny.js';

const g = JSON.parse(readFileSync('reference/golden/ppo_max.json', 'utf8')) as {
  clip: number;
  reward: { batches: number[][]; normalised: number[][] };
  cost: { batches: number[][]; normalised: number[][] };
  advantages: { values: number[][]; mask: number[][]; clip: number; whitened: number[][]; clipped: number[][] };
};
const TOL = { atol: 2e-5, rtol: 2e-5 };
const view = (reward: number[], cost: number[] | null) => ({ mask: tensor([[1]]), kl: tensor([[0]]), reward: tensor(reward), cost: cost ? tensor(cost) : null });

describe('PPO-max score normalisation', () => {
  it('is off by default and then hands the rollout through untouched', () => {
    const c = RlConfigSchema.parse({});
    expect([c.rewardNormalization, c.costNormalization, c.normalizedScoreClip, c.advantageClip, c.criticWarmupSteps]).toEqual(['none', 'none', null, null, 0]);
    const v = view([1, 2], [3, 4]);
    expect(createScoreNormalizers(c).apply(v)).toBe(v);
  });
  it("rewards 'affine', costs 'scale', clipped: running statistics over three steps match PyTorch; state survives a resume", () => {
    const n = createScoreNormalizers({ rewardNormalization: 'affine', costNormalization: 'scale', normalizedScoreClip: g.clip });
    const resumed = createScoreNormalizers({ rewardNormalization: 'affine', costNormalization: 'scale', normalizedScoreClip: g.clip });
    g.reward.batches.forEach((b, i) => {
      const out = n.apply(view(b, g.cost.batches[i] as number[]));
      expectAllClose(out.reward, g.reward.normalised[i] as number[], TOL);
      expectAllClose(out.cost as Tensor, g.cost.normalised[i] as number[], TOL);
      if (i === 1) resumed.loadStateDict(JSON.parse(JSON.stringify(n.stateDict())));
      if (i === 2) expectAllClose(resumed.apply(view(b, g.cost.batches[i] as number[])).reward, g.reward.normalised[i] as number[], TOL);
    });
    // the clip acts in the golden data, and a scale-only cost keeps its sign
    expect(g.reward.normalised.flat().some((x) => Math.abs(x) === g.clip)).toBe(true);
    g.cost.batches.flat().forEach((c, i) => expect(Math.sign(g.cost.normalised.flat()[i] as number)).toBe(Math.sign(c)));
  });
});

describe('PPO-max advantage clipping', () => {
  const method = { estimator: gaeEstimator, actorAdvantage: (a: Record<string, Tensor | undefined>) => a.reward as Tensor } as unknown as RlMethod;
  it('whitens, then clips to ±clip (PyTorch); no clip = whitened only', () => {
    const adv = { reward: tensor(g.advantages.values), cost: undefined };
    const mask = tensor(g.advantages.mask);
    expectAllClose(actorAdvantages(method, adv, mask, true, g.advantages.clip).advantages, g.advantages.clipped, TOL);
    expectAllClose(actorAdvantages(method, adv, mask, true).advantages, g.advantages.whitened, TOL);
    expect(g.advantages.whitened.flat().some((x) => Math.abs(x) > g.advantages.clip)).toBe(true);
  });
});

/** One PPO step on the tiny setup with `overrides` of the RL config; the trace, the actor and critic hashes before and after. */
function ppoStep(overrides: Record<string, unknown>, method: RlMethod = ppoMethod({ klCoef: 0.1, scoreClip: 50 })) {
  const { tokenizer, models } = tinyModels(method);
  models.reference = tinyActor(tokenizer, 9);
  const config = tinyConfig({ promptsPerStep: 4, miniBatchSize: 4, ppoEpochs: 1, ptxCoef: 0, ...overrides });
  const ctx = createRlContext(method, models, config, [], tokenizer.padId ?? 0);
  const ids = [0, 1, 2, 3].map((p) => encodePrompt(tokenizer, tinyPrompts[p] as { prompt: string }));
  const before = { actor: paramHash(models.actor), critic: paramHash(models.critics.reward as NonNullable<typeof models.critics.reward>) };
  manualSeed(7);
  const rollout = sampleRollout(models.actor, ids, config, { padId: tokenizer.padId ?? 0, eosId: tokenizer.eosId });
  const { trace, record } = rlStep(ctx, rollout, 1, new Rng(0));
  return { trace, record, before, after: { actor: paramHash(models.actor), critic: paramHash(models.critics.reward as NonNullable<typeof models.critics.reward>) } };
}

describe('PPO-max switches in the loop', () => {
  it("rewardNormalization 'affine': the reward stream carries (R − μ)/σ of the step's batch; the log keeps the raw reward", () => {
    const plain = ppoStep({});
    const norm = ppoStep({ rewardNormalization: 'affine' });
    const r = norm.trace.scores.reward.toNumbers();
    const mean = r.reduce((a, b) => a + b, 0) / r.length;
    const std = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / r.length);
    const kl = norm.trace.view.kl.sum(1).mul(0.1);
    const end = (norm.trace.streams.tokenScores.reward as Tensor).sum(1).add(kl);
    expectAllClose(end, r.map((x) => (x - mean) / (std + 1e-8)), { atol: 1e-5, rtol: 1e-5 });
    expect(norm.record.reward).toBeCloseTo(plain.record.reward, 6);
    expect(norm.after.actor).not.toBe(plain.after.actor);
  });
  it('criticWarmupSteps 1: the first step trains the critic and leaves the actor as it was; critic-free methods refuse it', () => {
    const s = ppoStep({ criticWarmupSteps: 1 });
    expect(s.after.actor).toBe(s.before.actor);
    expect(s.after.critic).not.toBe(s.before.critic);
    expect(s.record.actorLoss).toBe(0);
    const grpo = grpoMethod({ ...GrpoSchema.parse({}), scoreClip: 50 });
    expect(() => ppoStep({ criticWarmupSteps: 1, samplesPerPrompt: 2 }, grpo)).toThrow(/rl.criticWarmupSteps \(--rl-critic-warmup-steps\) to 0/);
  });
  it('advantageClip reaches the update: the actor advantages stay within ±clip', () => {
    const s = ppoStep({ advantageClip: 0.3 });
    expect(Math.max(...s.trace.actorAdvantages.abs().toNumbers())).toBeLessThanOrEqual(0.3 + 1e-7);
    expect(Math.max(...s.trace.combinedAdvantages.abs().toNumbers())).toBeGreaterThan(0.3);
  });
});
