// Fits tokenised (prompt, response) pairs into min(configured length, model context): which side is cut, and counts of what was cut or skipped.
import type { PromptInput, PromptOptions } from '../../models/prompt.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { encodePair, type EncodedPair } from './batching.js';

/**
 * Which part of an over-long response survives. The prompt is never cut: a prompt cut at its start
 * loses the chat template's opening and the start of the question, and one cut at its end loses the
 * "ASSISTANT:" cue the response follows. A pair whose prompt leaves no room for a single response
 * token cannot fit and is skipped (reported by file:line where the loader knows it).
 * - 'response-start' (SFT, PTX): the response's end is cut, as HF/TRL truncate on the right: the model
 *   still learns how an answer to the whole question opens.
 * - 'response-end' (reward and cost models): the response's start is cut, so that the last token,
 *   whose end score the loss and evaluation read, is the response's real end (its EOS).
 */
export type KeepSide = 'response-start' | 'response-end';

/** What fitting did to a set of examples; stored in training results and printed by the CLI. */
export interface TruncationStats {
  /** The length budget in tokens: min(configured length, model context). */
  maxLength: number;
  /** Examples offered. */
  total: number;
  /** Kept, with the response cut to fit. */
  truncated: number;
  /** Dropped: the prompt alone leaves no room for a response token. */
  skipped: number;
  /** Where the first skipped examples came from (`file:line` when known, else `#index`), at most 20. */
  skippedAt: string[];
}

/** No example fits the budget: says what the budget was and what to change. */
export class NothingFitsError extends Error {
  override name = 'NothingFitsError';
}

const MAX_LISTED = 20;

/** The budget: the configured length, capped by every model's context (undefined contexts are ignored). */
export function fitLength(configured: number, ...contexts: (number | undefined)[]): number {
  return Math.min(configured, ...contexts.filter((c): c is number => c !== undefined));
}

export function emptyTruncationStats(maxLength: number): TruncationStats {
  return { maxLength, total: 0, truncated: 0, skipped: 0, skippedAt: [] };
}

/** Counts one example's outcome into `stats`. */
export function countFit(stats: TruncationStats, outcome: 'kept' | 'truncated' | 'skipped', where: string): void {
  stats.total++;
  if (outcome === 'truncated') stats.truncated++;
  if (outcome === 'skipped') {
    stats.skipped++;
    if (stats.skippedAt.length < MAX_LISTED) stats.skippedAt.push(where);
  }
}

/** Cuts `pair` to at most `maxLength` tokens keeping the `keep` side of the response; null if the prompt leaves no room. */
export function fitPair(pair: EncodedPair, maxLength: number, keep: KeepSide): { pair: EncodedPair; truncated: boolean } | null {
  const room = maxLength - pair.promptIds.length;
  if (room < 1) return null;
  if (pair.responseIds.length <= room) return { pair, truncated: false };
  const responseIds = keep === 'response-start' ? pair.responseIds.slice(0, room) : pair.responseIds.slice(pair.responseIds.length - room);
  return { pair: { ...pair, responseIds }, truncated: true };
}

/** Encodes (prompts rendered by `formatPrompt` with `prompt` options) and fits (prompt, response) examples; `source` (file:line) names a skipped one. */
export function fitExamples(
  tokenizer: Tokenizer,
  examples: readonly (PromptInput & { response: string; source?: string })[],
  maxLength: number,
  keep: KeepSide,
  prompt: PromptOptions = {},
): { pairs: EncodedPair[]; stats: TruncationStats } {
  const stats = emptyTruncationStats(maxLength);
  const pairs: EncodedPair[] = [];
  examples.forEach((e, i) => {
    const fit = fitPair(encodePair(tokenizer, e, e.response, prompt), maxLength, keep);
    countFit(stats, fit === null ? 'skipped' : fit.truncated ? 'truncated' : 'kept', e.source ?? `#${i}`);
    if (fit) pairs.push(fit.pair);
  });
  return { pairs, stats };
}

/** One line for logs: "3 of 45 pairs truncated to 64 tokens (response end kept), 2 skipped (prompt too long): a.jsonl:4, a.jsonl:9". */
export function describeTruncation(stats: TruncationStats, what: string, keep: KeepSide): string {
  const kept = keep === 'response-start' ? 'response start kept' : 'response end kept';
  const skipped = stats.skipped
    ? `, ${stats.skipped} skipped (prompt leaves no room for a response in ${stats.maxLength} tokens): ${stats.skippedAt.join(', ')}${stats.skipped > stats.skippedAt.length ? ', …' : ''}`
    : ', 0 skipped';
  return `${stats.truncated} of ${stats.total} ${what} truncated to ${stats.maxLength} tokens (${kept})${skipped}`;
}
