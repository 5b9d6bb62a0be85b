// A-LoL (Baheti et al. 2023; abaheti95/LoL-RL): advantage-weighted offline NLL with a clipped, detached importance ratio to the reference policy, and its three variants.
import type { Tensor } from '../torch/index.js';
import type { LossOutput } from './masked.js';

export type AlolVariant = 'alol' | 'seq' | 'ref-free' | 'kl';

export interface AlolInputs {
  /** (B, T) log π_θ of each response token (differentiable). */
  logProbs: Tensor;
  /** (B, T) log π_ref of the same tokens. */
  refLogProbs: Tensor;
  /** (B, T) 1 on response tokens, 0 elsewhere. */
  mask: Tensor;
  /** (B,) advantages A = R − V, already clipped at 0 (A-LoL trains on positive advantages only). */
  advantages: Tensor;
}

export interface AlolSettings {
  variant: AlolVariant;
  /** ε: the importance ratio is clipped to [1 − ε, 1 + ε] (alol, seq; LoL-RL: 0.9). */
  clip: number;
  /** β: the weight of log π_θ − log π_ref in the kl variant (LoL-RL: 0.2). */
  beta: number;
}

/**
 * Per-response loss terms (B,) of each variant, from the per-token NLL (B, T) and the detached log-ratios:
 * alol:     A · clip(π_θ(y|x)/π_ref(y|x), 1−ε, 1+ε) · NLL(y|x)   (one sequence ratio)
 * seq:      A · Σ_t clip(π_θ(y_t|·)/π_ref(y_t|·), 1−ε, 1+ε) · NLL_t (per-token ratios)
 * ref-free: A · NLL(y|x)                                           (ratio 1)
 * kl:       A · NLL(y|x) + β · (log π_θ(y|x) − log π_ref(y|x))     (a KL penalty instead of the ratio)
 */
const VARIANTS: Record<AlolVariant, (nll: Tensor, x: AlolInputs, s: AlolSettings) => Tensor> = {
  alol: (nll, x, s) => {
    const ratio = x.logProbs.detach().sub(x.refLogProbs).mul(x.mask).sum(1).exp().clamp(1 - s.clip, 1 + s.clip);
    return nll.sum(1).mul(ratio).mul(x.advantages);
  },
  seq: (nll, x, s) => {
    const ratio = x.logProbs.detach().sub(x.refLogProbs).exp().clamp(1 - s.clip, 1 + s.clip);
    return nll.mul(ratio).sum(1).mul(x.advantages);
  },
  'ref-free': (nll, x) => nll.sum(1).mul(x.advantages),
  kl: (nll, x, s) => nll.sum(1).mul(x.advantages).add(x.logProbs.sub(x.refLogProbs).mul(x.mask).sum(1).mul(s.beta)),
};

/**
 * The A-LoL loss, mean over the B responses. Metrics: the mean sequence NLL, the mean sequence
 * log-ratio log π_θ − log π_ref (the KL estimate on the data), and the mean advantage.
 */
export function alolLoss(x: AlolInputs, settings: AlolSettings): LossOutput {
  const nll = x.logProbs.neg().mul(x.mask);
  const loss = VARIANTS[settings.variant](nll, x, settings).mean();
  return {
    loss,
    metrics: {
      nll: nll.detach().sum(1).mean().item(),
      logRatio: x.logProbs.detach().sub(x.refLogProbs).mul(x.mask).sum(1).mean().item(),
      advantage: x.advantages.mean().item(),
    },
  };
}
