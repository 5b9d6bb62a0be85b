// Scoring and the actor and critic updates by length buckets (rows of similar length together, padding cut) equal the padded passes to 1e-5.
import { describe, expect, it } from 'vitest';
import { actorStep } from '../../src/algorithms/rl/actor-update.js';
import { createRlContext } from '../../src/algorithms/rl/context.js';
import { criticStep } from '../../src/algorithms/rl/critic-update.js';
import { languageOf } from '../../src/algorithms/rl/images.js';
import { byPositions, byRows, lengthBuckets, paddedBucket } from '../../src/algorithms/rl/length-buckets.js';
import { responseSlice, type Rollout } from '../../src/algorithms/rl/rollout.js';
import { scoreRollout } from '../../src/algorithms/rl/scoring.js';
import { sequenceLogProbs } from '../../src/models/index.js';
import { manualSeed, noGrad, randint, tensor, tidy, type AdamW, type Tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';
import { tinyConfig, tinyMethod, tinyModels } from './rl-tiny.js';

const L = 8;
const T = 12;
/** Prompt and response lengths of 8 rows: short and long ones mixed, so buckets pay. */
const lengths = [
  [2, 1],
  [8, 12],
  [3, 2],
  [7, 11],
  [1, 3],
  [8, 10],
  [2, 2],
  [6, 12],
];

function rollout(vocab: number): Rollout {
  manualSeed(3);
  const ids = randint(4, vocab, [lengths.length, L + T]).toArray() as number[][];
  const attn = lengths.map(([p, r]) => Array.from({ length: L + T }, (_, j) => (j >= L - (p as number) && j < L + (r as number) ? 1 : 0)));
  const sequences = tensor(ids.map((row, i) => row.map((t, j) => ((attn[i] as number[])[j] ? t : 0))), { dtype: 'int64' });
  const mask = tensor(lengths.map(([, r]) => Array.from({ length: T }, (_, j) => (j < (r as number) ? 1 : 0))));
  return { sequences, attentionMask: tensor(attn, { dtype: 'int64' }), mask, oldLogProbs: mask.mul(-1), promptLength: L };
}

describe('length buckets', () => {
  it('split rows of very different lengths, cut each group to its columns, and leave a batch of equal lengths whole', () => {
    const r = rollout(20);
    const buckets = lengthBuckets(r.attentionMask);
    expect(buckets.length).toBeGreaterThan(1);
    expect(buckets.flatMap((b) => b.rows).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const cells = buckets.reduce((s, b) => s + b.rows.length * b.width, 0);
    expect(cells).toBeLessThan(0.9 * 8 * (L + T));
    // the group of the short rows does not reach the long rows' columns
    const short = buckets.find((b) => b.rows.includes(0)) as (typeof buckets)[number];
    expect(short.start).toBeGreaterThanOrEqual(L - 3);
    expect(short.start + short.width).toBeLessThanOrEqual(L + 3);
    expect(lengthBuckets(tensor([[1, 1, 1], [1, 1, 1]], { dtype: 'int64' }))).toEqual([{ rows: [0, 1], start: 0, width: 3 }]);
    expect(lengthBuckets(tensor([[0, 1, 1, 0], [0, 1, 1, 0]], { dtype: 'int64' }))).toEqual([{ rows: [0, 1], start: 1, width: 2 }]);
  });

  it('byRows and byPositions put every bucket back at its rows and columns', () => {
    const r = rollout(20);
    const buckets = lengthBuckets(r.attentionMask);
    const rowIds = byRows(buckets, r.sequences, r.attentionMask, (ids) => ids.select(1, 0).float().mul(0).add(ids.narrow(1, 0, 1).squeeze(1).float()));
    const first = (r.sequences.toArray() as number[][]).map((row, i) => row[(buckets.find((b) => b.rows.includes(i)) as (typeof buckets)[number]).start] as number);
    expect(rowIds.toNumbers()).toEqual(first);
    // the identity per position gives back the tokens of every row's real span
    const same = byPositions(buckets, r.sequences, r.attentionMask, (ids) => ids.float());
    const want = r.sequences.float().mul(r.attentionMask.float());
    expect(same.mul(r.attentionMask.float()).toArray()).toEqual(want.toArray());
  });

  it('scoreRollout on buckets equals the padded passes: reference log-probs, end scores and critic values (1e-5)', () => {
    const method = tinyMethod('ppo_lag');
    const { tokenizer, models } = tinyModels(method);
    const ctx = createRlContext(method, models, tinyConfig(), [], tokenizer.padId ?? 0);
    const r = rollout(tokenizer.vocabSize);
    expect(lengthBuckets(r.attentionMask).length).toBeGreaterThan(1);
    const got = scoreRollout(ctx.models, ctx.critics, true, r, 1);
    const { sequences: seq, attentionMask: attn, mask } = r;
    noGrad(() => {
      const masked = (x: Tensor) => x.mul(mask).toArray() as number[][];
      expectAllClose(got.refLogProbs.mul(mask), masked(responseSlice(sequenceLogProbs(models.reference, seq, attn), L, T)), { atol: 1e-5, rtol: 0 });
      expectAllClose(got.reward, models.rewardModel.forward(seq, attn).endScores.toNumbers(), { atol: 1e-5, rtol: 0 });
      expectAllClose(got.cost as Tensor, models.costModel.forward(seq, attn).endScores.toNumbers(), { atol: 1e-5, rtol: 0 });
      for (const [s, critic] of ctx.critics) {
        expectAllClose(got.values[s] as Tensor, masked(responseSlice(languageOf(critic).forward(seq, attn).scores, L, T)), { atol: 1e-5, rtol: 0 });
      }
    });
  });

  for (const entropyCoef of [0, 0.05]) {
  it(`actor (entropy bonus ${entropyCoef}) and critic updates on buckets equal the padded updates: losses and every gradient (1e-5)`, () => {
    const method = tinyMethod('ppo_lag');
    /** One actor step and one step of each critic from fresh, identical models; the losses and the gradients they leave. */
    const update = (padded: boolean) =>
      tidy(() => {
        const { tokenizer, models } = tinyModels(method);
        const config = tinyConfig({ entropyCoef });
        const ctx = createRlContext(method, models, config, [], tokenizer.padId ?? 0);
        const r = rollout(tokenizer.vocabSize);
        const buckets = padded ? paddedBucket(r.attentionMask) : lengthBuckets(r.attentionMask);
        const batch = { sequences: r.sequences, attentionMask: r.attentionMask, mask: r.mask, promptLength: L, buckets };
        // old log-probs near the actor's own (some ratios clipped), advantages of both signs
        const wave = (a: number, f: number) => tensor(lengths.map((_, i) => Array.from({ length: T }, (_, j) => a * Math.sin(f * (i * T + j) + 1))));
        const own = noGrad(() => responseSlice(sequenceLogProbs(models.actor, r.sequences, r.attentionMask), L, T));
        const oldLogProbs = own.add(wave(0.3, 0.7)).mul(r.mask);
        models.actor.train();
        const actor = actorStep(models.actor, ctx.actorParams, ctx.actorOpt, { ...batch, oldLogProbs, advantages: wave(1, 1.3).mul(r.mask) }, [], config, 0, 1);
        const grads = (ps: readonly Tensor[]) => ps.map((p) => (p.grad as Tensor).flatten().toNumbers());
        const critics = ctx.critics.map(([, critic], i) => {
          const oldValues = noGrad(() => responseSlice(languageOf(critic).forward(r.sequences, r.attentionMask).scores, L, T)).mul(r.mask);
          const c = criticStep(critic, ctx.criticOpts[i] as AdamW, { ...batch, oldValues, returns: oldValues.add(wave(2, 0.9)).mul(r.mask) }, config);
          return { loss: c.loss, gradNorm: c.gradNorm, grads: grads(critic.trainableParameters()) };
        });
        return { actor, actorGrads: grads(ctx.actorParams), critics };
      });
    expect(lengthBuckets(rollout(20).attentionMask).length).toBeGreaterThan(1);
    const [got, want] = [update(false), update(true)];
    const close = { atol: 1e-5, rtol: 0 };
    expectAllClose(got.actor.loss, want.actor.loss, close);
    if (entropyCoef > 0) expectAllClose(got.actor.entropy as number, want.actor.entropy as number, close);
    else expect(got.actor.entropy).toBeUndefined();
    expect(got.actor.clipFraction).toBe(want.actor.clipFraction);
    expect(want.actor.clipFraction).toBeGreaterThan(0);
    expectAllClose(got.actor.gradNorm, want.actor.gradNorm, { atol: 1e-5, rtol: 1e-5 });
    got.actorGrads.forEach((g, i) => expectAllClose(g, want.actorGrads[i] as number[], close));
    got.critics.forEach((c, k) => {
      const w = want.critics[k] as (typeof want.critics)[number];
      expectAllClose(c.loss, w.loss, close);
      expectAllClose(c.gradNorm, w.gradNorm, { atol: 1e-5, rtol: 1e-5 });
      c.grads.forEach((g, i) => expectAllClose(g, w.grads[i] as number[], close));
    });
  });
  }
});
