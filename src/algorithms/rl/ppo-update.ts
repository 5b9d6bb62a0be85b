// PPO update phase: epochs over the rollout in mini-batches (P3O's pairs kept together), each an actor step then one step per critic (none for critic-free methods).
import { tensor, tidy, type AdamW, type Tensor } from '../../torch/index.js';
import type { Rng } from '../../world/rng.js';
import type { EncodedPair } from '../common/batching.js';
import { actorStep } from './actor-update.js';
import type { RlContext } from './context.js';
import { criticStep } from './critic-update.js';
import { lengthBuckets } from './length-buckets.js';
import type { StreamName } from './method.js';
import type { Rollout } from './rollout.js';

/** The targets of one update, all (B, T). */
export interface UpdateTargets {
  /** The actor's advantages (combined, whitened if configured). */
  actorAdvantages: Tensor;
  /** Per critic stream: the critic values at rollout time. */
  values: Partial<Record<StreamName, Tensor>>;
  /** Per critic stream: GAE returns. */
  returns: Partial<Record<StreamName, Tensor>>;
  /** log π_ref of the response tokens, for the method's k3 term (when it has one). */
  refLogProbs: Tensor;
}

/** One mini-batch update: the actor's PPO loss, clip fraction and gradient norm (before clipping), and each critic's loss and norm. */
export interface MiniBatchUpdate {
  actorLoss: number;
  clipFraction: number;
  actorGradNorm: number;
  /** The actor's token-mean entropy, when the entropy bonus is on. */
  entropy?: number;
  critics: Record<string, { loss: number; gradNorm: number }>;
}

/** Means over the mini-batch updates, and each update in order. */
export interface UpdateResult {
  actorLoss: number;
  clipFraction: number;
  /** Mean over the actor steps of the actor's entropy, when the entropy bonus is on. */
  entropy?: number;
  criticLoss: Record<string, number>;
  updates: MiniBatchUpdate[];
}

/**
 * config.ppoEpochs passes over the B rollout rows in order, config.miniBatchSize rows at a time;
 * each mini-batch: one actor step (PTX examples drawn from `ptxRng` when ptxCoef > 0; none while
 * `step` <= config.criticWarmupSteps), then one step of each critic. `step` is 1-based.
 */
export function ppoUpdate(ctx: RlContext, rollout: Rollout, targets: UpdateTargets, ptxRng: Rng, step: number): UpdateResult {
  const { config, models } = ctx;
  const klCoef = ctx.method.lossKlCoef ?? 0;
  const n = rollout.sequences.shape[0] as number;
  let actorLossSum = 0;
  let clipSum = 0;
  let entropySum = 0;
  let entropySteps = 0;
  let updates = 0;
  const criticLossSum: Record<string, number> = {};
  const done: MiniBatchUpdate[] = [];
  models.actor.train();
  for (let epoch = 0; epoch < config.ppoEpochs; epoch++) {
    for (let start = 0; start < n; start += config.miniBatchSize) {
      tidy(() => {
        const size = Math.min(config.miniBatchSize, n - start);
        // with several processes, each rank computes its share of the mini-batch's rows (P3O's pairs kept whole) and PTX examples
        const share = ctx.job.shareOrStandIn(Array.from({ length: size }, (_, i) => start + i), ctx.method.policyLoss?.rowsPerGroup ?? 1);
        const rows = tensor(share.items, { dtype: 'int64', device: rollout.sequences.device });
        const mb = (x: Tensor) => x.indexSelect(0, rows);
        const mask = mb(rollout.mask);
        const sequences = mb(rollout.sequences);
        const attentionMask = mb(rollout.attentionMask);
        const images = rollout.images?.select(share.items);
        // the actor and each critic run the mini-batch's rows by length (equal to the padded passes; padding is not computed)
        const buckets = lengthBuckets(attentionMask);
        const ptxDrawn: EncodedPair[] = config.ptxCoef > 0 && ctx.ptx.length ? Array.from({ length: size }, () => ctx.ptx[ptxRng.int(ctx.ptx.length)] as EncodedPair) : [];
        const ptxShare = ctx.job.shareOrStandIn(ptxDrawn);
        const ptxExamples = ptxDrawn.length ? ptxShare.items : [];
        const stepShare = { job: ctx.job, standIn: share.standIn, ptxStandIn: ptxShare.standIn };
        // PPO-max's critic warm-up: the actor stays frozen for the first rl.criticWarmupSteps steps
        const frozen = step <= config.criticWarmupSteps;
        const actor = frozen
          ? { loss: 0, clipFraction: 0, gradNorm: 0 }
          : actorStep(
          models.actor,
          ctx.actorParams,
          ctx.actorOpt,
          {
            sequences,
            attentionMask,
            mask,
            oldLogProbs: mb(rollout.oldLogProbs),
            advantages: mb(targets.actorAdvantages),
            ...(klCoef > 0 ? { refLogProbs: mb(targets.refLogProbs) } : {}),
            promptLength: rollout.promptLength,
            buckets,
            images,
          },
          ptxExamples,
          config,
          ctx.padId,
          step,
          klCoef,
          ctx.method.policyLoss,
          stepShare,
        );
        actorLossSum += actor.loss;
        clipSum += actor.clipFraction;
        if (actor.entropy !== undefined) {
          entropySum += actor.entropy;
          entropySteps++;
        }
        const critics: MiniBatchUpdate['critics'] = {};
        ctx.critics.forEach(([s, critic], i) => {
          const c = criticStep(critic, ctx.criticOpts[i] as AdamW, { sequences, attentionMask, mask, oldValues: mb(targets.values[s] as Tensor), returns: mb(targets.returns[s] as Tensor), promptLength: rollout.promptLength, buckets, images }, config, stepShare);
          criticLossSum[s] = (criticLossSum[s] ?? 0) + c.loss;
          critics[s] = c;
        });
        done.push({ actorLoss: actor.loss, clipFraction: actor.clipFraction, actorGradNorm: actor.gradNorm, ...(actor.entropy !== undefined ? { entropy: actor.entropy } : {}), critics });
        updates++;
      });
    }
  }
  return {
    actorLoss: actorLossSum / updates,
    clipFraction: clipSum / updates,
    ...(entropySteps ? { entropy: entropySum / entropySteps } : {}),
    criticLoss: Object.fromEntries(Object.entries(criticLossSum).map(([k, v]) => [k, v / updates])),
    updates: done,
  };
}
