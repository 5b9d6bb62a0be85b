// One P3O step on a sampled rollout of 2 samples per prompt: the advantages are the pair differences of the KL-folded rewards, and a constant shift of the reward model leaves the update unchanged while PPO's moves.
import { describe, expect, it } from 'vitest';
import { P3oSchema } from '../../src/algorithms/p3o/config.js';
import { p3oMethod } from '../../src/algorithms/p3o/method.js';
import { ppoMethod } from '../../src/algorithms/ppo/method.js';
import { createRlContext, rlStep, sampleRollout, type StepTrace } from '../../src/algorithms/rl/phases.js';
import type { RlMethod } from '../../src/algorithms/rl/method.js';
import type { SequenceScorer } from '../../src/algorithms/rl/models.js';
import { encodePrompt } from '../../src/algorithms/common/batching.js';
import { leaveOneOutAdvantages } from '../../src/rl/index.js';
import { manualSeed, type Tensor } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';
import { expectAllClose } from '../helpers/allclose.js';
import { tinyActor, tinyConfig, tinyModels, tinyPrompts } from './rl-tiny.js';

const BETA = 0.1;
const SHIFT = 3;
const TOL = { atol: 1e-5, rtol: 1e-5 };

/** The reward model's end scores plus `shift`. */
function shifted(model: SequenceScorer, shift: number): SequenceScorer {
  return { forward: (ids, attn) => ({ endScores: model.forward(ids, attn).endScores.add(shift) }), eval: () => shifted(model, shift) };
}

/** One step of `method` on 2 prompts × G samples (reward model shifted by `shift`); the trace and the actor's parameters after it. */
function step(method: RlMethod, g: number, shift: number): { trace: StepTrace; params: number[] } {
  const { tokenizer, models } = tinyModels(method);
  models.reference = tinyActor(tokenizer, 9);
  const config = tinyConfig({ samplesPerPrompt: g, promptsPerStep: 2, miniBatchSize: 2, ppoEpochs: 2, ptxCoef: 0 });
  const ctx = createRlContext(method, { ...models, rewardModel: shifted(models.rewardModel, shift) }, config, [], tokenizer.padId ?? 0);
  const ids = [0, 1, 2].flatMap((p) => Array<number[]>(g).fill(encodePrompt(tokenizer, tinyPrompts[p] as { prompt: string })));
  manualSeed(7);
  const rollout = sampleRollout(models.actor, ids, config, { padId: tokenizer.padId ?? 0, eosId: tokenizer.eosId });
  const { trace } = rlStep(ctx, rollout, 1, new Rng(0));
  return { trace, params: models.actor.parameters().flatMap((p) => p.toNumbers()) };
}

const maxDiff = (a: readonly number[], b: readonly number[]) => Math.max(...a.map((x, i) => Math.abs(x - (b[i] as number))));

describe('P3O RL step (3 prompts × 2 samples)', () => {
  const p3o = (clip: 'separate' | 'joint') => p3oMethod({ ...P3oSchema.parse({ klCoef: BETA, clip }), scoreClip: 50 });

  it('the actor advantage of each row is r̃_i − r̃_partner, r̃ = R − β·ΣKL, on every token; no critic', () => {
    const { trace } = step(p3o('separate'), 2, 0);
    expect(trace.scores.values).toEqual({});
    const want = leaveOneOutAdvantages(trace.scores.reward.sub(trace.view.kl.sum(1).mul(BETA)), 2);
    const got = (trace.combinedAdvantages as Tensor).sum(1).div(trace.view.mask.sum(1));
    expectAllClose(got, want.toNumbers(), TOL);
    expectAllClose(trace.actorAdvantages, trace.combinedAdvantages.toNumbers(), { atol: 0, rtol: 0 });
    expect(Math.min(...want.abs().toNumbers())).toBeGreaterThan(1e-4);
  });

  for (const clip of ['separate', 'joint'] as const) {
    it(`${clip}: shifting the reward model by ${SHIFT} leaves the update unchanged; PPO's moves`, () => {
      const a = step(p3o(clip), 2, 0);
      const b = step(p3o(clip), 2, SHIFT);
      expect(b.trace.scores.reward.sub(a.trace.scores.reward).toNumbers().every((d) => Math.abs(d - SHIFT) < 1e-5)).toBe(true);
      // equal up to float32 rounding of R + shift (Adam's first steps magnify rounding of near-zero gradients a little):
      // measured max |Δθ| 2.5e-5 (separate), 1.1e-5 (joint) against PPO's 0.07
      expectAllClose(b.trace.combinedAdvantages, a.trace.combinedAdvantages.toNumbers(), TOL);
      b.trace.update.updates.forEach((u, i) => expectAllClose(u.actorGradNorm, a.trace.update.updates[i]?.actorGradNorm as number, { atol: 1e-6, rtol: 1e-4 }));
      expect(maxDiff(a.params, b.params)).toBeLessThan(1e-4);
      // the step moved the actor at all (so "unchanged" is not "nothing happened")
      const { tokenizer } = tinyModels(p3o(clip));
      const before = tinyActor(tokenizer, 1).parameters().flatMap((p) => p.toNumbers());
      expect(maxDiff(a.params, before)).toBeGreaterThan(1e-4);
    });
  }

  it("PPO's update (critic from the reward model, GAE) changes under the same shift", () => {
    const ppo = ppoMethod({ klCoef: BETA, scoreClip: 50 });
    const a = step(ppo, 1, 0);
    const b = step(ppo, 1, SHIFT);
    expect(maxDiff(a.params, b.params)).toBeGreaterThan(1e-3);
  });
});
