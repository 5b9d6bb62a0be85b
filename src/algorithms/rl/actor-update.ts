// Actor update phase: the method's policy loss (PPO's clip with GRPO's k3 term, or P3O's pairwise loss) plus the optional entropy bonus and PTX loss on one mini-batch, then one clipped AdamW step.
import { ONE_PROCESS, type DataParallel } from '../../distributed/data-parallel.js';
import { entropyBonus, MASKED_MEAN_UNITS, tokenCrossEntropy } from '../../losses/index.js';
import type { CausalLM } from '../../models/index.js';
import { languageOf, type PolicyModel, type RowImages } from './images.js';
import { clipGradNorm, tensor, tidy, type AdamW, type Tensor } from '../../torch/index.js';
import { padForTraining, type EncodedPair } from '../common/batching.js';
import type { RlConfig } from './config.js';
import { assertFinite } from './diverged.js';
import { lengthBuckets, type LengthBucket } from './length-buckets.js';
import { tokenClipLoss, type PolicyLoss } from './policy-loss.js';
import { responseLogProbs } from './response-passes.js';

/** One mini-batch of b rows of a rollout. */
export interface ActorBatch {
  /** (b, L + T) int64. */
  sequences: Tensor;
  /** (b, L + T) int64. */
  attentionMask: Tensor;
  /** (b, T) float 0/1. */
  mask: Tensor;
  /** (b, T) log π_old. */
  oldLogProbs: Tensor;
  /** (b, T) the actor's advantages. */
  advantages: Tensor;
  /** (b, T) log π_ref, for a k3 KL term in the loss (GRPO); omitted when the method has none. */
  refLogProbs?: Tensor;
  promptLength: number;
  /** Rows run together by length, each group cut to its columns (default: `lengthBuckets(attentionMask)`; `paddedBucket` = one padded pass). */
  buckets?: readonly LengthBucket[];
  /** The rows' prompt images (absent: text only). */
  images?: RowImages | undefined;
}

/** Mean next-token cross-entropy of the actor on SFT examples' response tokens (the PTX loss, a scalar), and the number of those tokens. */
export function ptxLoss(actor: CausalLM, examples: readonly EncodedPair[], padId: number): { loss: Tensor; tokens: number } {
  const b = padForTraining(examples, padId);
  const device = actor.device;
  const ids = tensor(b.ids, { dtype: 'int64', device });
  const len = b.ids[0]?.length ?? 0;
  const { logits } = actor.forward(ids, tensor(b.attentionMask, { dtype: 'int64', device }));
  const tokens = b.responseMask.reduce((n, row) => n + row.slice(1).reduce((a, x) => a + x, 0), 0);
  return { loss: tokenCrossEntropy(logits.narrow(1, 0, len - 1), ids.narrow(1, 1, len - 1), tensor(b.responseMask, { device }).narrow(1, 1, len - 1)).loss, tokens };
}

/**
 * Where a mini-batch step runs: the data-parallel job, and whether this rank's rows (`standIn`) or PTX examples
 * (`ptxStandIn`) only stand in for an empty share (they then weigh 0). Default: one process.
 */
export interface StepShare {
  job: DataParallel;
  standIn: boolean;
  ptxStandIn?: boolean;
}
/** The whole mini-batch on one process. */
export const WHOLE_BATCH: StepShare = { job: ONE_PROCESS, standIn: false };

/** What one actor step reports: the policy loss (without entropy bonus and PTX), the clipped-ratio share and the gradient norm before clipping. */
export interface ActorStepResult {
  loss: number;
  clipFraction: number;
  gradNorm: number;
  /** Token mean of the actor's entropy over the response, when the entropy bonus is on. */
  entropy?: number;
}

/**
 * loss = `policyLoss` (default: the clipped token loss with ratio clipped to [1 - clipRange, 1 + (clipRangeHigh ?? clipRange)],
 * plus klCoef·k3 to batch.refLogProbs when klCoef > 0, averaged by config.lossAggregation) − entropyCoef · H(π_θ) (averaged
 * the same way, when entropyCoef > 0) + ptxCoef · PTX loss (when
 * `ptxExamples` is non-empty); backward, clip the global gradient norm to actorOptim.gradClip, one optimiser step. `step` is 1-based, for errors.
 * In a data-parallel job (`share`), the batch and PTX examples are this rank's share of the mini-batch's: each term is scaled by its
 * share of the mini-batch's units and the gradients are summed over the ranks before clipping; the metrics are the mini-batch's.
 */
export function actorStep(
  actor: PolicyModel,
  params: readonly Tensor[],
  opt: AdamW,
  batch: ActorBatch,
  ptxExamples: readonly EncodedPair[],
  config: Pick<RlConfig, 'clipRange' | 'clipRangeHigh' | 'ptxCoef' | 'entropyCoef' | 'actorOptim' | 'lossAggregation' | 'maxNewTokens'>,
  padId: number,
  step: number,
  klCoef = 0,
  policyLoss: PolicyLoss = tokenClipLoss,
  share: StepShare = WHOLE_BATCH,
): ActorStepResult {
  // a scope of its own: the logits and activations are freed when the step returns, before the critics run
  return tidy(() => {
    const T = batch.mask.shape[1] as number;
    opt.zeroGrad();
    // rows of similar length run together, each bucket's LM head on its response positions only (padding is not computed)
    const buckets = batch.buckets ?? lengthBuckets(batch.attentionMask);
    const { logProbs, entropy: tokenEntropies } = responseLogProbs(actor, buckets, { ...batch, responseLength: T }, config.entropyCoef > 0);
    const pg = policyLoss.compute(
      { logProbs, oldLogProbs: batch.oldLogProbs, advantages: batch.advantages, mask: batch.mask, ...(batch.refLogProbs ? { refLogProbs: batch.refLogProbs } : {}) },
      config,
      klCoef,
    );
    // each term a mean over its own units; a stand-in share weighs 0
    const weight = (units: () => number, standIn = share.standIn) => (share.job.worldSize === 1 || standIn ? 0 : units());
    const terms = [{ loss: pg.loss, weight: weight(() => policyLoss.units(batch.mask, config)) }];
    let entropy: number | undefined;
    if (tokenEntropies) {
      const bonus = entropyBonus(tokenEntropies, batch.mask, config.entropyCoef, config.lossAggregation, config.maxNewTokens);
      terms.push({ loss: bonus.loss, weight: weight(() => MASKED_MEAN_UNITS[config.lossAggregation](batch.mask)) });
      entropy = bonus.metrics.entropy;
    }
    if (config.ptxCoef > 0 && ptxExamples.length) {
      const ptx = ptxLoss(languageOf(actor), ptxExamples, padId);
      terms.push({ loss: ptx.loss.mul(config.ptxCoef), weight: weight(() => ptx.tokens, share.ptxStandIn ?? share.standIn) });
    }
    const loss = share.job.scaleShares(terms);
    assertFinite('the actor loss', [loss.item()], step, 'Lower rl.actorOptim.lr or raise the KL coefficient; the checkpoint before this step is intact.');
    loss.backward();
    share.job.sumGradients(params);
    const gradNorm = clipGradNorm(params, config.actorOptim.gradClip);
    opt.step();
    // the loss as a mean over the whole mini-batch; clip fraction and entropy as token means
    const tokens = weight(() => batch.mask.sum().item());
    const metrics = share.job.weightedMeans({ clipFraction: pg.metrics.clipFraction ?? 0, ...(entropy !== undefined ? { entropy } : {}) }, tokens).means;
    return { loss: share.job.weightedMeans({ loss: pg.loss.item() }, terms[0]?.weight ?? 0).means.loss, gradNorm, ...metrics };
  });
}
