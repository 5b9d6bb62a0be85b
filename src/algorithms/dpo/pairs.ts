// The (chosen, rejected) pairs each preference method trains on, read from preference records: helpfulness, safety, or SafeDPO's safety-reordered helpfulness.
import { hasSafetyLabels, type PreferenceRecord } from '../../data/record.js';
import { safeDpoOrder, type BothUnsafe } from '../../losses/safe-dpo.js';
import type { ChatMessage } from '../../models/tokenizer.js';

/** One training pair; the unsafe flags feed SafeDPO's offset (absent = safe). */
export interface PreferencePair {
  prompt: string;
  /** Earlier turns of the dialogue (HH-RLHF), rendered before the prompt. */
  context?: ChatMessage[];
  chosen: string;
  rejected: string;
  chosenUnsafe?: boolean;
  rejectedUnsafe?: boolean;
  /** A soft label: the probability that the rejected response is the better one (absent = the config's labelSmoothing). */
  labelSmoothing?: number;
  /** `file:line` (or `#index`) of the record, to name it if it cannot fit. */
  source: string;
}

function where(r: PreferenceRecord, i: number): string {
  return r.source?.file !== undefined && r.source.line !== undefined ? `${r.source.file}:${r.source.line}` : `#${i}`;
}

/** DPO and SACPO stage 1: the more helpful response (`better_response_id`) is chosen. */
export function helpfulnessPairs(records: readonly PreferenceRecord[]): PreferencePair[] {
  return records.map((r, i) => ({ prompt: r.prompt, ...(r.context ? { context: r.context } : {}), chosen: r.responses[r.betterResponseId], rejected: r.responses[1 - r.betterResponseId] as string, source: where(r, i) }));
}

/** SACPO stage 2: the more harmless response (`safer_response_id`) is chosen; records without safety labels are left out. */
export function safetyPairs(records: readonly PreferenceRecord[]): PreferencePair[] {
  return records.flatMap((r, i) =>
    hasSafetyLabels(r) ? [{ prompt: r.prompt, ...(r.context ? { context: r.context } : {}), chosen: r.responses[r.saferResponseId], rejected: r.responses[1 - r.saferResponseId] as string, source: where(r, i) }] : [],
  );
}

/** SafeDPO: helpfulness pairs reordered so that a safe response beats an unsafe one (see safeDpoOrder); records without safety labels are left out. */
export function safeDpoPairs(records: readonly PreferenceRecord[], bothUnsafe: BothUnsafe): PreferencePair[] {
  return records.flatMap((r, i) => {
    if (!hasSafetyLabels(r)) return [];
    const o = safeDpoOrder(r.betterResponseId, r.isSafe, bothUnsafe);
    return o ? [{ prompt: r.prompt, ...(r.context ? { context: r.context } : {}), chosen: r.responses[o.chosen], rejected: r.responses[o.rejected], chosenUnsafe: o.chosenUnsafe, rejectedUnsafe: o.rejectedUnsafe, source: where(r, i) }] : [];
  });
}

/**
 * Pairs ordered by a utility of each response (MoCAN: r − λ*·c from the reward and cost models): the
 * higher one is chosen, a tie keeps the annotators' helpfulness order. `utilities[i]` scores the two
 * responses of record i; a record with a non-finite utility (a response the scorers could not read) is left out.
 * With `soft`, each pair carries the Bradley–Terry soft label σ(u_rejected − u_chosen) = P(rejected is better).
 */
export function utilityPairs(records: readonly PreferenceRecord[], utilities: readonly (readonly [number, number])[], soft = false): { pairs: PreferencePair[]; flipped: number; unscored: number } {
  let flipped = 0;
  let unscored = 0;
  const pairs = records.flatMap((r, i) => {
    const [u0, u1] = utilities[i] ?? [NaN, NaN];
    if (!Number.isFinite(u0) || !Number.isFinite(u1)) return (unscored++, []);
    const chosen = u0 === u1 ? r.betterResponseId : u0 > u1 ? 0 : 1;
    if (chosen !== r.betterResponseId) flipped++;
    const margin = Math.abs(u0 - u1);
    const label = soft ? { labelSmoothing: 1 / (1 + Math.exp(margin)) } : {};
    return [{ prompt: r.prompt, ...(r.context ? { context: r.context } : {}), chosen: r.responses[chosen], rejected: r.responses[1 - chosen] as string, ...label, source: where(r, i) }];
  });
  return { pairs, flipped, unscored };
}
