// Reward-model ensembles (mean, std, min and UP-RLHF's mean - k·std) and WARM weight averaging.
import { ScoreModel, type SequenceScorer } from '../../models/index.js';
import { mergeParametersInto } from '../../models/merge.js';
import { noGrad, stack, type Tensor } from '../../torch/index.js';

export type EnsembleReduction = 'mean' | 'min' | 'uncertainty';

/** K score models of one architecture scoring the same sequences. */
export class ScoreEnsemble {
  constructor(readonly members: readonly ScoreModel[]) {
    if (members.length === 0) throw new RangeError('an ensemble needs at least one member');
  }

  /**
   * End scores of every member and their summaries. inputIds, attentionMask: (B, L).
   * Returns all: (K, B); mean, std (population), min: (B,).
   */
  predict(inputIds: Tensor, attentionMask: Tensor): { all: Tensor; mean: Tensor; std: Tensor; min: Tensor } {
    return noGrad(() => {
      const all = stack(this.members.map((m) => m.eval().forward(inputIds, attentionMask).endScores), 0);
      return { all, mean: all.mean(0), std: all.std(0, { unbiased: false }), min: all.min(0) };
    });
  }

  /** This ensemble as a single scorer (for evaluation and RL): end scores reduced by `reduction`. */
  asScorer(reduction: EnsembleReduction = 'mean', k = 1): SequenceScorer {
    return {
      eval: () => undefined,
      forward: (ids, mask) => ({ endScores: this.score(ids, mask, reduction, k) }),
      contextLength: Math.min(...this.members.map((m) => m.contextLength)),
    };
  }

  /** One conservative score per sequence: mean, min, or mean - k·std (uncertainty-penalised, UP-RLHF). (B,) */
  score(inputIds: Tensor, attentionMask: Tensor, reduction: EnsembleReduction = 'mean', k = 1): Tensor {
    const p = this.predict(inputIds, attentionMask);
    const reductions: Record<EnsembleReduction, () => Tensor> = {
      mean: () => p.mean,
      min: () => p.min,
      uncertainty: () => p.mean.sub(p.std.mul(k)),
    };
    return reductions[reduction]();
  }
}

/**
 * WARM: the uniform average of the weights of score models fine-tuned from one initialisation
 * (weight averaging is only meaningful when the members share that init).
 */
export function warmAverage(members: readonly ScoreModel[]): ScoreModel {
  const first = members[0];
  if (!first) throw new RangeError('WARM needs at least one member');
  const avg = ScoreModel.fromScoreModel(first);
  mergeParametersInto(avg, members, undefined, 'WARM');
  return avg;
}
