// Actor update phase: the method's policy loss (PPO's clip with GRPO's k3 term, or P3O's pairwise loss) plus the optional entropy bonus and PTX loss on one mini-batch, then one clipped AdamW step.
import { entropyBonus, tokenCrossEntropy } from '../../losses/index.js';
import type { CausalLM } from '../../models/index.js';
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
}

/** Mean next-token cross-entropy of the actor on SFT examples' response tokens (the PTX loss, a scalar). */
export function ptxLoss(actor: CausalLM, examples: readonly EncodedPair[], padId: number): Tensor {
  const b = padForTraining(examples, padId);
  const ids = tensor(b.ids, { dtype: 'int64' });
  const len = b.ids[0]?.length ?? 0;
  const { logits } = actor.forward(ids, tensor(b.attentionMask, { dtype: 'int64' }));
  return tokenCrossEntropy(logits.narrow(1, 0, len - 1), ids.narrow(1, 1, len - 1), tensor(b.responseMask).narrow(1, 1, len - 1)).loss;
}

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
 */
export function actorStep(
  actor: CausalLM,
  params: readonly Tensor[],
  opt: AdamW,
  batch: ActorBatch,
  ptxExamples: readonly EncodedPair[],
  config: Pick<RlConfig, 'clipRange' | 'clipRangeHigh' | 'ptxCoef' | 'entropyCoef' | 'actorOptim' | 'lossAggregation' | 'maxNewTokens'>,
  padId: number,
  step: number,
  klCoef = 0,
  policyLoss: PolicyLoss = tokenClipLoss,
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
    let loss = pg.loss;
    let entropy: number | undefined;
    if (tokenEntropies) {
      const bonus = entropyBonus(tokenEntropies, batch.mask, config.entropyCoef, config.lossAggregation, config.maxNewTokens);
      loss = loss.add(bonus.loss);
      entropy = bonus.metrics.entropy;
    }
    if (config.ptxCoef > 0 && ptxExamples.length) loss = loss.add(ptxLoss(actor, ptxExamples, padId).mul(config.ptxCoef));
    assertFinite('the actor loss', [loss.item()], step, 'Lower rl.actorOptim.lr or raise the KL coefficient; the checkpoint before this step is intact.');
    loss.backward();
    const gradNorm = clipGradNorm(params, config.actorOptim.gradClip);
    opt.step();
    return { loss: pg.loss.item(), clipFraction: pg.metrics.clipFraction ?? 0, gradNorm, ...(entropy !== undefined ? { entropy } : {}) };
  });
}
