// Critic update phase: the clipped value loss of one stream's critic on one mini-batch, then one clipped AdamW step.
import { criticLoss, MASKED_MEAN_UNITS } from '../../losses/index.js';
import { clipGradNorm, tidy, type AdamW, type Tensor } from '../../torch/index.js';
import { WHOLE_BATCH, type StepShare } from './actor-update.js';
import type { RlConfig } from './config.js';
import type { CriticModel, RowImages } from './images.js';
import { lengthBuckets, type LengthBucket } from './length-buckets.js';
import { responseValues } from './response-passes.js';

/** One mini-batch of b rows for a critic. */
export interface CriticBatch {
  /** (b, L + T) int64. */
  sequences: Tensor;
  /** (b, L + T) int64. */
  attentionMask: Tensor;
  /** (b, T) float 0/1. */
  mask: Tensor;
  /** (b, T) the critic's values at rollout time. */
  oldValues: Tensor;
  /** (b, T) GAE returns of the stream. */
  returns: Tensor;
  promptLength: number;
  /** Rows run together by length, each group cut to its columns (default: `lengthBuckets(attentionMask)`; `paddedBucket` = one padded pass). */
  buckets?: readonly LengthBucket[];
  /** The rows' prompt images (absent: text only). */
  images?: RowImages | undefined;
}

/**
 * Value loss (averaged by config.lossAggregation), backward, gradient norm clipped to criticOptim.gradClip, one step; returns the loss and the norm before clipping.
 * In a data-parallel job (`share`), `batch` is this rank's share of the mini-batch, scaled and summed over the ranks as in actorStep.
 */
export function criticStep(critic: CriticModel, opt: AdamW, batch: CriticBatch, config: Pick<RlConfig, 'valueClip' | 'criticOptim' | 'lossAggregation'>, share: StepShare = WHOLE_BATCH): { loss: number; gradNorm: number } {
  // a scope of its own: the activations are freed when the step returns, before the next critic runs
  return tidy(() => {
    const T = batch.mask.shape[1] as number;
    opt.zeroGrad();
    critic.train();
    // rows of similar length run together, cut to the columns they use (padding is not computed)
    const values = responseValues(critic, batch.buckets ?? lengthBuckets(batch.attentionMask), { ...batch, responseLength: T });
    const cl = criticLoss(values, batch.oldValues, batch.returns, batch.mask, config.valueClip, config.lossAggregation);
    const { job } = share;
    const weight = job.worldSize === 1 || share.standIn ? 0 : MASKED_MEAN_UNITS[config.lossAggregation](batch.mask);
    const params = critic.trainableParameters();
    job.scaleShares([{ loss: cl.loss, weight }]).backward();
    job.sumGradients(params);
    const gradNorm = clipGradNorm(params, config.criticOptim.gradClip);
    opt.step();
    return { loss: job.weightedMeans({ loss: cl.loss.item() }, weight).means.loss, gradNorm };
  });
}
