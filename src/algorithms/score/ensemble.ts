// Score-model ensembles (members' mean, std and min; one score by any reduction of src/rl/ensemble.ts) and WARM weight averaging.
import { endScoresOf, ScoreModel, type SequenceScorer } from '../../models/index.js';
import { mergeParametersInto } from '../../models/merge.js';
import { reduceEnsemble, type EnsembleReduce, type Worse } from '../../rl/index.js';
import { noGrad, stack, type Tensor } from '../../torch/index.js';

/** Which way is worse for each kind of score: a low reward, a high cost. */
export const WORSE: Record<'reward' | 'cost', Worse> = { reward: 'lower', cost: 'higher' };

/** K score models scoring the same sequences (one tokenizer). */
export class ScoreEnsemble {
  constructor(readonly members: readonly SequenceScorer[]) {
    if (members.length === 0) throw new RangeError('an ensemble needs at least one member');
  }

  /** inputIds, attentionMask: (B, L) -> every member's end scores (K, B), in eval mode, without gradient. */
  memberScores(inputIds: Tensor, attentionMask: Tensor): Tensor {
    return noGrad(() => stack(this.members.map((m) => (m.eval(), endScoresOf(m, inputIds, attentionMask))), 0));
  }

  /** End scores of every member and their summaries: all (K, B); mean, std (population), min: (B,). */
  predict(inputIds: Tensor, attentionMask: Tensor): { all: Tensor; mean: Tensor; std: Tensor; min: Tensor } {
    const all = this.memberScores(inputIds, attentionMask);
    return { all, mean: all.mean(0), std: all.std(0, { unbiased: false }), min: all.min(0) };
  }

  /** One score per sequence (B,): the members' scores reduced by `spec`, pessimistic towards `worse` (reward: 'lower', cost: 'higher'). */
  score(inputIds: Tensor, attentionMask: Tensor, spec: EnsembleReduce, worse: Worse): Tensor {
    return reduceEnsemble(this.memberScores(inputIds, attentionMask), spec, worse);
  }

  /** This ensemble as a single scorer (evaluation, RL's scoring phase): end scores reduced by `spec`. */
  asScorer(spec: EnsembleReduce, worse: Worse): SequenceScorer {
    const lengths = this.members.map((m) => m.contextLength).filter((n): n is number => n !== undefined);
    return {
      eval: () => undefined,
      forward: (ids, mask) => ({ endScores: this.score(ids, mask, spec, worse) }),
      ...(lengths.length > 0 ? { contextLength: Math.min(...lengths) } : {}),
    };
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
