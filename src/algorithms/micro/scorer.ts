// A MiCRo mixture as one reward for RL: its heads' end scores weighted by fixed head weights (a group of users' mean Hedge weights: routedWeights).
import type { SequenceScorer } from '../../models/score-model.js';
import { tensor, zeros, type Tensor } from '../../torch/index.js';
import type { MixtureScoreModel } from './model.js';

/** r(x, y) = Σ_k w_k · r_k(x, y): the mixture's heads weighted by `weights` (K non-negative values summing to 1). */
export class HeadWeightedScorer implements SequenceScorer {
  private readonly w: Tensor;

  constructor(
    readonly model: MixtureScoreModel,
    readonly weights: readonly number[],
  ) {
    if (weights.length !== model.heads) throw new RangeError(`HeadWeightedScorer: ${weights.length} weights for a mixture of ${model.heads} heads`);
    const sum = weights.reduce((a, b) => a + b, 0);
    if (weights.some((x) => !(x >= 0)) || Math.abs(sum - 1) > 1e-6) throw new RangeError(`HeadWeightedScorer: head weights must be non-negative and sum to 1, got [${weights.join(', ')}]`);
    this.w = tensor([...weights]);
  }

  get contextLength(): number {
    return this.model.contextLength;
  }

  eval(): unknown {
    return this.model.eval();
  }

  /** inputIds, attentionMask (B, L) -> the weighted end scores (B,); the router is not read (its index is a dummy). */
  forward(inputIds: Tensor, attentionMask: Tensor): { endScores: Tensor } {
    const rows = inputIds.shape[0] as number;
    const { endScores } = this.model.forward(inputIds, attentionMask, zeros([rows], { dtype: 'int64' }));
    return { endScores: endScores.matmul(this.w) };
  }
}
