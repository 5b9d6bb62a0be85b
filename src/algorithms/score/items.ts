// What a score model trains and is evaluated on: preference pairs or single labelled responses, tokenised and fitted to the length budget.
import type { PreferenceRecord, RecordSource } from '../../data/record.js';
import { labelsFromPreferences, type SafetyLabel } from '../../data/safety-labels.js';
import type { SequenceScorer } from '../../models/index.js';
import type { PromptInput, PromptOptions } from '../../models/prompt.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { tensor, type Device, type Tensor } from '../../torch/index.js';
import { encodePair, padForTraining, type EncodedPair } from '../common/batching.js';
import { batchPixels, scoreForward } from '../common/model-input.js';
import { countFit, emptyTruncationStats, fitPair, type TruncationStats } from '../common/truncation.js';

export type ScoreKind = 'reward' | 'cost';

/**
 * A score model's data: preference records (reward: better vs worse; cost: safer vs unsafer with
 * safety signs), or, for a cost model, responses with a safe/unsafe label and no pair.
 */
export type ScoreData = readonly ScoreRecord[] | { labels: readonly (SafetyLabel & Pick<PromptInput, 'pixels'>)[] };

/** A preference record as a score model reads it: an image prompt carries its pixel values (for an image + text model). */
export type ScoreRecord = PreferenceRecord & Pick<PromptInput, 'pixels'>;

/**
 * One unit of training or evaluation: two responses of a pair (`seqs[0]` the better one for a
 * reward model, the safer one for a cost model) or one labelled response, each as prompt + response
 * ids, with their safety labels (true where the data has none).
 */
export interface ScoreItem {
  seqs: EncodedPair[];
  isSafe: boolean[];
  /** Index of the record (or label) in the data it came from. */
  at: number;
  /** Severity level of each response (0 safe … K−1), when the data has it: what an ordinal head trains on. */
  levels?: number[];
}

/** Which response of a record goes first: the better (reward) or the safer (cost); undefined if the record lacks that label. */
const FIRST: Record<ScoreKind, (r: PreferenceRecord) => 0 | 1 | undefined> = {
  reward: (r) => r.betterResponseId,
  cost: (r) => (r.isSafe ? r.saferResponseId : undefined),
};

function where(source: RecordSource | undefined, index: number): string {
  return source?.file !== undefined && source.line !== undefined ? `${source.file}:${source.line}` : `#${index}`;
}

/**
 * The items of `data` (prompts and their earlier turns rendered by `formatPrompt` with `prompt` options), each response fitted to `maxLength` tokens keeping its end (the end score is
 * read at the last token). An item whose prompt leaves no room is skipped and counted; records
 * without the label the kind needs are left out. Labels train cost models only.
 */
export function toScoreItems(
  kind: ScoreKind,
  tokenizer: Tokenizer,
  data: ScoreData,
  maxLength: number,
  prompt: PromptOptions = {},
): { items: ScoreItem[]; stats: TruncationStats } {
  const items: ScoreItem[] = [];
  const stats = emptyTruncationStats(maxLength);
  const add = (input: PromptInput, responses: string[], isSafe: boolean[], index: number, at: string, levels?: number[]) => {
    const fits = responses.map((r) => fitPair(encodePair(tokenizer, input, r, prompt), maxLength, 'response-end'));
    const fitted = fits.filter((f) => f !== null);
    countFit(stats, fitted.length < fits.length ? 'skipped' : fitted.some((f) => f.truncated) ? 'truncated' : 'kept', at);
    if (fitted.length === fits.length) items.push({ seqs: fitted.map((f) => f.pair), isSafe, at: index, ...(levels ? { levels } : {}) });
  };
  if (Array.isArray(data)) {
    (data as readonly PreferenceRecord[]).forEach((r, i) => {
      const first = FIRST[kind](r);
      if (first === undefined) return;
      const second = (1 - first) as 0 | 1;
      add(r, [r.responses[first], r.responses[second]], [r.isSafe?.[first] ?? true, r.isSafe?.[second] ?? true], i, where(r.source, i));
    });
  } else {
    if (kind !== 'cost') throw new Error('a reward model trains on preference pairs; safety labels without pairs train a cost model only');
    (data as { labels: readonly SafetyLabel[] }).labels.forEach((l, i) => add(l, [l.response], [l.isSafe], i, where(l.source, i), l.severity === undefined ? undefined : [l.severity]));
  }
  return { items, stats };
}

/** End scores of every response slot of `items` in one forward pass: one (B,) tensor per slot (two for pairs, one for labels). */
export function itemScores(model: SequenceScorer, items: readonly ScoreItem[], padId: number, maxLength: number): Tensor[] {
  const slots = items[0]?.seqs.length ?? 0;
  const seqs = Array.from({ length: slots }, (_, s) => items.map((it) => it.seqs[s] as EncodedPair)).flat();
  const b = padForTraining(seqs, padId, maxLength);
  const device = model.device;
  const endScores = scoreForward(model, tensor(b.ids, { dtype: 'int64', device }), tensor(b.attentionMask, { dtype: 'int64', device }), batchPixels(seqs));
  return Array.from({ length: slots }, (_, s) => endScores.narrow(0, s * items.length, items.length));
}

/** The severity levels of one slot of `items` as a (B,) int64 tensor on `device` (every item must have them: see `needLevels`). */
export function slotLevels(items: readonly ScoreItem[], slot: number, device?: Device): Tensor {
  return tensor(items.map((it) => it.levels?.[slot] ?? -1), { dtype: 'int64', device });
}

/** Thrown when an ordinal (severity) head is given data without severity levels in its range. */
export class SeverityDataError extends Error {
  override name = 'SeverityDataError';
}

/** Checks that every item has a level in 0..levels−1 for an ordinal head with `levels` levels. */
export function needLevels(items: readonly ScoreItem[], levels: number): void {
  const bad = items.findIndex((it) => it.levels === undefined || it.levels.some((l) => !(l >= 0 && l < levels)));
  if (bad >= 0) {
    const it = items[bad] as ScoreItem;
    throw new SeverityDataError(
      it.levels === undefined
        ? `an ordinal (severity) head trains on responses labelled with a severity level; item ${bad} has none (give --cost-data severity with PKU-SafeRLHF severity_level fields)`
        : `item ${bad} has severity ${it.levels.join(', ')}, outside the head's ${levels} levels 0..${levels - 1}`,
    );
  }
}

/** The safety labels of one slot of `items` as a (B,) bool tensor on `device`. */
export function slotIsSafe(items: readonly ScoreItem[], slot: number, device?: Device): Tensor {
  return tensor(items.map((it) => (it.isSafe[slot] ? 1 : 0)), { dtype: 'bool', device });
}

/** Both responses of each record as labelled single responses (safety, severity), each with its record's pixels when it has them. */
export function labelsWithPixels(records: readonly ScoreRecord[]): (SafetyLabel & Pick<PromptInput, 'pixels'>)[] {
  return records.flatMap((r) => labelsFromPreferences([r]).map((l) => (r.pixels ? { ...l, pixels: r.pixels } : l)));
}
