// How each annotator type of the built-in world would judge a policy: the share of prompts on which the type's noise-free
// Bradley–Terry taste prefers the policy's response to a reference policy's (gold; evaluation only).
import { helpfulnessLogit, makePairItem, type HelpfulnessTaste } from '../world/annotators.js';

/** One prompt answered by the policy and by the reference. */
export interface AnswerPair {
  prompt: string;
  response: string;
  reference: string;
}

/**
 * Per taste: the mean over `pairs` of σ(helpfulnessLogit(taste, (response, reference))), the probability that an annotator
 * with that taste and no personal noise calls the policy's answer more helpful (0.5 = no better than the reference).
 */
export function typeWinRates(pairs: readonly AnswerPair[], tastes: Record<string, HelpfulnessTaste>): Record<string, number> {
  if (pairs.length === 0) throw new RangeError('typeWinRates: no answer pairs');
  const items = pairs.map((p) => makePairItem(p.prompt, [p.response, p.reference]));
  return Object.fromEntries(Object.entries(tastes).map(([t, taste]) => [t, items.reduce((a, it) => a + 1 / (1 + Math.exp(-helpfulnessLogit(taste, it))), 0) / items.length]));
}
