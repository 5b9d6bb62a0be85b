// Preference losses on policy/reference log-ratios: DPO (and cDPO label smoothing), robust DPO and IPO, with an optional per-pair offset (SafeDPO's Δ).
import type { Tensor } from '../torch/index.js';
import type { LossOutput } from './masked.js';

/** Sequence log-probabilities of a batch of pairs, each (B,): sums over response tokens. */
export interface PairLogProbs {
  policyChosen: Tensor;
  policyRejected: Tensor;
  refChosen: Tensor;
  refRejected: Tensor;
  /** (B,) response lengths in tokens (float): IPO averages the log-ratios over them. */
  chosenLengths: Tensor;
  rejectedLengths: Tensor;
}

export type PreferenceVariant = 'sigmoid' | 'ipo' | 'robust';

export interface PreferenceLossSettings {
  variant: PreferenceVariant;
  /** β: the strength of the KL regularisation towards the reference. */
  beta: number;
  /** ε: assumed share of flipped labels (sigmoid: cDPO label smoothing; robust: rDPO's unbiased correction); unused by IPO. */
  labelSmoothing: number;
}

/**
 * Per-pair loss (B,) of each variant from z = β·(h_w − h_l) − offset (IPO: length-averaged h).
 * sigmoid: −(1−ε)·log σ(z) − ε·log σ(−z) (DPO; cDPO when ε > 0, TRL's 'sigmoid')
 * robust:  (−(1−ε)·log σ(z) + ε·log σ(−z)) / (1−2ε) (rDPO, TRL's 'robust')
 * ipo:     ((z − 1/2) / β)², i.e. (h̄_w − h̄_l − 1/(2β))² when offset = 0 (TRL's 'ipo')
 */
const VARIANTS: Record<PreferenceVariant, { lengthAveraged: boolean; loss: (z: Tensor, s: PreferenceLossSettings, pairEps?: Tensor) => Tensor }> = {
  sigmoid: {
    lengthAveraged: false,
    loss: (z, { labelSmoothing: eps }, pairEps) =>
      pairEps ? z.logsigmoid().mul(pairEps.neg().add(1)).neg().sub(z.neg().logsigmoid().mul(pairEps)) : z.logsigmoid().mul(-(1 - eps)).sub(z.neg().logsigmoid().mul(eps)),
  },
  robust: {
    lengthAveraged: false,
    loss: (z, { labelSmoothing: eps }) => z.logsigmoid().mul(-(1 - eps)).add(z.neg().logsigmoid().mul(eps)).div(1 - 2 * eps),
  },
  ipo: {
    lengthAveraged: true,
    loss: (z, { beta }) => z.sub(0.5).div(beta).pow(2),
  },
};

/**
 * The preference loss, mean over pairs. `offset` (B,) is subtracted from every pair's logit: the
 * margin the chosen response must win by (SafeDPO: (u_l − u_w)·Δ). `pairLabelSmoothing` (B,), sigmoid
 * only, replaces ε pair by pair: soft labels, ε_i = P(the rejected response is better) (MoCAN's
 * pseudo-preferences). Metrics (unaveraged h): the implicit rewards β·h_w and β·h_l, their margin,
 * and the share of pairs with h_w > h_l.
 */
export function preferenceLoss(lp: PairLogProbs, settings: PreferenceLossSettings, offset?: Tensor, pairLabelSmoothing?: Tensor): LossOutput {
  if (settings.variant === 'robust' && !(settings.labelSmoothing < 0.5)) throw new RangeError(`robust DPO needs labelSmoothing < 0.5, got ${settings.labelSmoothing}`);
  if (pairLabelSmoothing && settings.variant !== 'sigmoid') throw new RangeError(`per-pair soft labels need the sigmoid variant, got ${settings.variant}`);
  const variant = VARIANTS[settings.variant];
  const chosenRatio = lp.policyChosen.sub(lp.refChosen);
  const rejectedRatio = lp.policyRejected.sub(lp.refRejected);
  const [w, l] = variant.lengthAveraged ? [chosenRatio.div(lp.chosenLengths), rejectedRatio.div(lp.rejectedLengths)] : [chosenRatio, rejectedRatio];
  const scaled = w.sub(l).mul(settings.beta);
  const z = offset ? scaled.sub(offset) : scaled;
  const chosenReward = chosenRatio.detach().mul(settings.beta);
  const rejectedReward = rejectedRatio.detach().mul(settings.beta);
  const margin = chosenReward.sub(rejectedReward);
  return {
    loss: variant.loss(z, settings, pairLabelSmoothing).mean(),
    metrics: {
      chosenReward: chosenReward.mean().item(),
      rejectedReward: rejectedReward.mean().item(),
      margin: margin.mean().item(),
      accuracy: margin.gt(0).float().mean().item(),
    },
  };
}
