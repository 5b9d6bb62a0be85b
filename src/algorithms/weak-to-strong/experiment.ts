// The weak-to-strong experiment on reward models: weak supervisor, its labels, the strong student with and without the confidence loss, the strong ceiling, PGR.
import { join } from 'node:path';
import type { Progress } from '../../core/progress.js';
import type { PreferenceRecord } from '../../data/record.js';
import { ScoreModel, type CausalLM, type SequenceScorer } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { manualSeed } from '../../torch/index.js';
import { Rng } from '../../world/rng.js';
import type { ScoreConfig } from '../score/config.js';
import { trainScoreModel } from '../score/train.js';
import type { WeakLabelTraining } from './config.js';
import { performanceGapRecovered, trainOnWeakLabels, weakLabels } from './train.js';

export interface WeakToStrongResult {
  /** Pairs the weak supervisor trained on (annotator labels) and pairs it labelled for the student. */
  pairs: { weak: number; student: number };
  /** Share of the student's pairs where the weak label agrees with the annotators' label. */
  weakLabelAgreement: number;
  /** Judge accuracy (gold in the built-in world) of each reward model. */
  accuracy: { weak: number; strongOnWeak: number; strongOnWeakAux: number; strongCeiling: number };
  /** Performance gap recovered without and with the auxiliary confidence loss. */
  pgr: { plain: number; aux: number };
}

/**
 * Splits `pairs` (annotator labels) in half by `seed`: the weak model (from `weakBackbone`) trains on the
 * first half and labels the second; the strong model (from `strongBackbone`) trains on those weak labels
 * with α = 0 and with α = `training.auxCoef`, and, as the ceiling, on the second half's annotator labels.
 * `judge` gives a reward model's accuracy (gold labels of test pairs in the world).
 */
export function runWeakToStrong(args: {
  weakBackbone: () => CausalLM;
  strongBackbone: () => CausalLM;
  tokenizer: Tokenizer;
  pairs: readonly PreferenceRecord[];
  weakScore: ScoreConfig;
  training: WeakLabelTraining;
  seed: number;
  outDir: string;
  progress: Progress;
  judge: (model: SequenceScorer) => number;
}): WeakToStrongResult {
  const { tokenizer, training, progress } = args;
  const order = new Rng(args.seed).derive('weak-to-strong/split').shuffle(args.pairs.map((_, i) => i));
  const half = Math.floor(order.length / 2);
  const weakPairs = order.slice(0, half).map((i) => args.pairs[i] as PreferenceRecord);
  const studentPairs = order.slice(half).map((i) => args.pairs[i] as PreferenceRecord);
  const score = (backbone: () => CausalLM, train: readonly PreferenceRecord[], config: ScoreConfig, dir: string) => {
    manualSeed(config.seed);
    const model = ScoreModel.fromCausalLM(backbone(), 'reward');
    trainScoreModel({ kind: 'reward', model, tokenizer, train, config, outDir: join(args.outDir, dir), progress });
    return model;
  };
  const weak = score(args.weakBackbone, weakPairs, args.weakScore, 'weak');
  const labels = weakLabels(weak, tokenizer, studentPairs, { maxLength: args.weakScore.maxLength });
  const labelled = labels.map((p, i) => ({ p, better: (studentPairs[i] as PreferenceRecord).betterResponseId })).filter((x) => !Number.isNaN(x.p));
  const student = (auxCoef: number, dir: string) => {
    manualSeed(training.score.seed);
    const model = ScoreModel.fromCausalLM(args.strongBackbone(), 'reward');
    trainOnWeakLabels({ model, tokenizer, pairs: studentPairs, labels, config: { ...training, auxCoef }, outDir: join(args.outDir, dir), progress });
    return model;
  };
  const accuracy = {
    weak: args.judge(weak),
    strongOnWeak: args.judge(student(0, 'strong_on_weak')),
    strongOnWeakAux: args.judge(student(training.auxCoef, 'strong_on_weak_aux')),
    strongCeiling: args.judge(score(args.strongBackbone, studentPairs, training.score, 'strong_ceiling')),
  };
  return {
    pairs: { weak: weakPairs.length, student: studentPairs.length },
    weakLabelAgreement: labelled.filter((x) => (x.p > 0.5 ? 0 : 1) === x.better).length / Math.max(1, labelled.length),
    accuracy,
    pgr: {
      plain: performanceGapRecovered(accuracy.weak, accuracy.strongOnWeak, accuracy.strongCeiling),
      aux: performanceGapRecovered(accuracy.weak, accuracy.strongOnWeakAux, accuracy.strongCeiling),
    },
  };
}
