// Diversity of generated text: distinct-n, the share of word n-grams that are unique across a set of responses.

/**
 * distinct-n (Li et al. 2016): distinct word n-grams / all word n-grams over `texts` (words split on
 * whitespace); 0 when no text has n words.
 */
export function distinctN(texts: readonly string[], n: number): number {
  const grams = new Set<string>();
  let total = 0;
  for (const t of texts) {
    const w = t.split(/\s+/).filter(Boolean);
    for (let i = 0; i + n <= w.length; i++) {
      grams.add(w.slice(i, i + n).join(' '));
      total++;
    }
  }
  return total ? grams.size / total : 0;
}
