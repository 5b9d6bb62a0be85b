// Test fixture: hand-made preference records and SFT examples over the tiny GPT-2's `w<n>` words, with helpfulness and safety labels that disagree.
import type { PreferenceRecord } from '../../src/data/record.js';

/**
 * `n` preference records: prompt `w(i mod 7) w(3i mod 11)`, a two-word and a three-word response; the second
 * is better on every third record, the safer one alternates, and the safety labels mix safe and unsafe.
 */
export function wordPreferences(n: number): PreferenceRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    prompt: `w${i % 7} w${(i * 3) % 11}`,
    responses: [`w${(i * 5) % 13} w${i % 5}`, `w${(i + 2) % 9} w${(i * 7) % 17} w3`],
    betterResponseId: (i % 3 === 0 ? 1 : 0) as 0 | 1,
    saferResponseId: (i % 2) as 0 | 1,
    isSafe: [i % 2 === 0, i % 4 === 1],
  }));
}

/** `n` SFT examples on the same prompts, each with a three-word response. */
export function wordExamples(n: number): { prompt: string; response: string }[] {
  return Array.from({ length: n }, (_, i) => ({ prompt: `w${i % 7} w${(i * 3) % 11}`, response: `w${(i * 5) % 13} w${i % 5} w${(i + 2) % 9}` }));
}
