// MiCRo against one Bradley–Terry model trained the same way: both fitted on per-annotator labels, accuracy per annotator type on held-out labels.
import { join } from 'node:path';
import type { Progress } from '../../core/progress.js';
import type { CausalLM, ScoreModel } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { manualSeed } from '../../torch/index.js';
import { pairedDifference, tInterval, type Interval } from '../../eval/intervals.js';
import type { MicroConfig } from './config.js';
import { MixtureScoreModel, saveMixture } from './model.js';
import { preferenceProbabilities, trainMicro, type AnnotatedPair, type Routing } from './train.js';

/** Accuracy of each model on one group's labels: the share whose labelled better response gets probability > 0.5. */
export interface GroupAccuracy {
  /** Labels scored. */
  n: number;
  /** MiCRo, each annotator routed by Hedge on its own pairs. */
  micro: number;
  /** MiCRo with the prompt router alone (stage 1 only). */
  microUnrouted: number;
  /** One Bradley–Terry head (the same trainer with K = 1). */
  single: number;
}

export interface MicroComparison {
  heads: number;
  trainLabels: number;
  /** Per annotator type (the evaluation's grouping) and 'all'. */
  byGroup: Record<string, GroupAccuracy>;
  /** Mean Hedge weight of each head per group (what the routing found). */
  routedWeights: Record<string, number[]>;
}

/** A trained mixture and what predicting with it needs. */
export interface TrainedMixture {
  model: MixtureScoreModel;
  routing: Routing;
  config: MicroConfig;
}

/** Trains MiCRo (config.heads) and the single-head baseline from `backbone()` on the same labels, saving both under `outDir`. */
export function trainMicroAndBaseline(args: {
  backbone: () => CausalLM | ScoreModel;
  tokenizer: Tokenizer;
  train: readonly AnnotatedPair[];
  config: MicroConfig;
  outDir: string;
  progress: Progress;
}): { micro: TrainedMixture; single: TrainedMixture } {
  const fit = (name: string, config: MicroConfig): TrainedMixture => {
    manualSeed(config.seed);
    const model = MixtureScoreModel.fromBackbone(args.backbone(), config.heads);
    const out = trainMicro({ model, tokenizer: args.tokenizer, train: args.train, config, outDir: join(args.outDir, name), progress: args.progress });
    saveMixture(join(args.outDir, name, 'model'), model, config);
    return { model, routing: out.routing, config };
  };
  return { micro: fit('micro', args.config), single: fit('single', { ...args.config, heads: 1 }) };
}

/** Accuracy of MiCRo (routed and not) and the single model per group of `test` labels (`groupOf` an annotator id), plus 'all'. */
export function compareByGroup(
  trained: { micro: TrainedMixture; single: TrainedMixture },
  tokenizer: Tokenizer,
  test: readonly AnnotatedPair[],
  groupOf: (annotator: string) => string,
): Pick<MicroComparison, 'byGroup'> {
  const probs = (m: TrainedMixture, routing: Routing) => preferenceProbabilities(m.model, tokenizer, test, routing, m.config);
  const micro = probs(trained.micro, trained.micro.routing);
  const unrouted = probs(trained.micro, {});
  const single = probs(trained.single, trained.single.routing);
  const groups = new Map<string, number[]>();
  test.forEach((p, i) => {
    if (Number.isNaN(micro[i])) return;
    for (const g of [groupOf(p.annotator), 'all']) groups.set(g, [...(groups.get(g) ?? []), i]);
  });
  const acc = (ps: number[], idx: number[]) => idx.filter((i) => (ps[i] as number) > 0.5).length / idx.length;
  return {
    byGroup: Object.fromEntries([...groups].sort(([a], [b]) => a.localeCompare(b)).map(([g, idx]) => [g, { n: idx.length, micro: acc(micro, idx), microUnrouted: acc(unrouted, idx), single: acc(single, idx) }])),
  };
}

/** Mean softmax(−η·headLoss) over the annotators of each group: how Hedge alone would weigh the heads for them (uniform prior). */
export function routedWeights(routing: Routing, eta: number, groupOf: (annotator: string) => string): Record<string, number[]> {
  const groups = new Map<string, number[][]>();
  for (const [a, s] of Object.entries(routing)) groups.set(groupOf(a), [...(groups.get(groupOf(a)) ?? []), s.headLoss]);
  return Object.fromEntries([...groups].sort(([a], [b]) => a.localeCompare(b)).map(([g, losses]) => [g, meanHedgeWeights(losses, eta)]));
}

/** Mean over users of each user's Hedge weights softmax(−η · per-head log-loss on its routing pairs) (uniform prior). */
export function meanHedgeWeights(headLosses: readonly (readonly number[])[], eta: number): number[] {
  if (headLosses.length === 0) throw new RangeError('meanHedgeWeights: no users');
  const k = (headLosses[0] as readonly number[]).length;
  const sum = Array.from({ length: k }, () => 0);
  for (const losses of headLosses) {
    const logits = losses.map((l) => -eta * l);
    const max = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - max));
    const z = e.reduce((a, b) => a + b, 0);
    e.forEach((v, i) => (sum[i] = (sum[i] as number) + v / z));
  }
  return sum.map((v) => v / headLosses.length);
}

/** One group's accuracies over replicates: means with 95% t-intervals, and MiCRo (routed) − one BT head paired by replicate. */
export interface GroupAccuracySeeds {
  /** Labels per replicate (the same test labels in every replicate of one world). */
  n: number[];
  micro: Interval;
  microUnrouted: Interval;
  single: Interval;
  microMinusSingle: Interval;
}

/** Aggregates compareByGroup's results of replicates (other seeds); a group is aggregated over the replicates that have it. */
export function aggregateByGroup(replicates: readonly Pick<MicroComparison, 'byGroup'>[]): Record<string, GroupAccuracySeeds> {
  if (replicates.length === 0) throw new RangeError('aggregateByGroup: no replicates');
  const groups = [...new Set(replicates.flatMap((r) => Object.keys(r.byGroup)))].sort();
  return Object.fromEntries(
    groups.map((g) => {
      const rs = replicates.map((r) => r.byGroup[g]).filter((a): a is GroupAccuracy => a !== undefined);
      const of = (f: (a: GroupAccuracy) => number) => rs.map(f);
      return [g, { n: of((a) => a.n), micro: tInterval(of((a) => a.micro)), microUnrouted: tInterval(of((a) => a.microUnrouted)), single: tInterval(of((a) => a.single)), microMinusSingle: pairedDifference(of((a) => a.micro), of((a) => a.single)) }];
    }),
  );
}
