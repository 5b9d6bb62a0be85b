// Weak-to-strong generalisation (Burns et al. 2023): the auxiliary confidence loss on a pairwise reward model, and its weight schedule.
import { noGrad, tensor, type Tensor } from '../torch/index.js';
import type { LossOutput } from './masked.js';

/** `torch.quantile(values, q)` with linear interpolation between the order statistics. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/**
 * openai/weak-to-strong's `logconf_loss_fn` on pairs: the student's P(response 0 better) is `p = σ(r_0 − r_1)`;
 * its hardened prediction is `1[p ≥ t]` with t the `1 − mean(weak)` quantile of p over the batch (so the
 * hardened labels keep the weak labels' prior); the target is `(1 − α)·weak + α·hard` (detached) and the
 * loss the mean cross-entropy `−[target·log σ(m) + (1 − target)·log σ(−m)]`. α = 0 is plain soft-label
 * cross-entropy (training on the weak labels alone).
 * margins: (B,) r_0 − r_1 of the student; weakLabels: (B,) the weak model's P(response 0 better) (soft or 0/1).
 */
export function confidenceLoss(margins: Tensor, weakLabels: Tensor, alpha: number): LossOutput {
  const { hard, threshold } = noGrad(() => {
    const p = margins.sigmoid().toNumbers();
    const weak = weakLabels.toNumbers();
    const t = quantile(p, 1 - weak.reduce((a, b) => a + b, 0) / weak.length);
    return { hard: tensor(p.map((x) => (x >= t ? 1 : 0)), { device: margins.device }), threshold: t };
  });
  const target = weakLabels.mul(1 - alpha).add(hard.mul(alpha));
  const loss = target.mul(margins.logsigmoid()).add(target.neg().add(1).mul(margins.neg().logsigmoid())).mean().neg();
  return {
    loss,
    metrics: {
      // agreement of the student's preference with the weak labels' (ties of a soft label at 0.5 count as disagreement)
      weakAgreement: margins.gt(0).float().eq(weakLabels.gt(0.5).float()).float().mean().item(),
      threshold,
      alpha,
    },
  };
}

/** The weight α at a fraction of training: the paper's linear warm-up from 0 to `auxCoef` over the first `warmupFrac`. */
export function confidenceWeight(stepFrac: number, auxCoef: number, warmupFrac: number): number {
  return warmupFrac > 0 ? auxCoef * Math.min(1, stepFrac / warmupFrac) : auxCoef;
}
