// Diversity of generated text: distinct-n, pairwise ROUGE-L and self-BLEU over word sequences, and the embedding diversity of mean-pooled hidden states.
import type { Tensor } from '../torch/index.js';

const words = (t: string): string[] => t.split(/\s+/).filter(Boolean);

/**
 * distinct-n (Li et al. 2016): distinct word n-grams / all word n-grams over `texts` (words split on
 * whitespace); 0 when no text has n words.
 */
export function distinctN(texts: readonly string[], n: number): number {
  const grams = new Set<string>();
  let total = 0;
  for (const t of texts) {
    const w = words(t);
    for (let i = 0; i + n <= w.length; i++) {
      grams.add(w.slice(i, i + n).join(' '));
      total++;
    }
  }
  return total ? grams.size / total : 0;
}

/** Length of the longest common subsequence of two sequences (O(|a|·|b|) time, O(|b|) memory). */
function lcsLength<T>(a: readonly T[], b: readonly T[]): number {
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (const x of a) {
    for (let j = 0; j < b.length; j++) cur[j + 1] = x === b[j] ? (prev[j] as number) + 1 : Math.max(prev[j + 1] as number, cur[j] as number);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length] as number;
}

/** ROUGE-L F1 (Lin 2004, β = 1, so symmetric) of two texts' words: LCS-based precision and recall; 0 when either is empty. */
export function rougeL(a: string, b: string): number {
  return rougeLWords(words(a), words(b));
}

function rougeLWords<T>(a: readonly T[], b: readonly T[]): number {
  if (!a.length || !b.length) return 0;
  const m = lcsLength(a, b);
  if (m === 0) return 0;
  const p = m / a.length;
  const r = m / b.length;
  return (2 * p * r) / (p + r);
}

/**
 * Mean ROUGE-L F1 over the unordered pairs of `texts` (a similarity: 1 = every response the same words in
 * the same order, lower = more diverse); 0 with fewer than two texts.
 */
export function pairwiseRougeL(texts: readonly string[]): number {
  // words as integer ids: the LCS loop compares numbers
  const ids = new Map<string, number>();
  const w = texts.map((t) => words(t).map((x) => ids.get(x) ?? (ids.set(x, ids.size), ids.size - 1)));
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < w.length; i++) for (let j = i + 1; j < w.length; j++, pairs++) sum += rougeLWords(w[i] as number[], w[j] as number[]);
  return pairs ? sum / pairs : 0;
}

/** Counts of every n-gram (n = 1…maxN) of a word sequence, keyed `n|w1 w2 …`. */
function ngramCounts(w: readonly string[], maxN: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxN; n++) {
    for (let i = 0; i + n <= w.length; i++) {
      const key = `${n}|${w.slice(i, i + n).join(' ')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** BLEU's settings: the highest n-gram order and the smoothing ε of zero match counts. */
export interface BleuSettings {
  maxN: number;
  epsilon: number;
}
const BLEU4: BleuSettings = { maxN: 4, epsilon: 0.1 };

/**
 * BLEU of a candidate (words, n-gram counts) against references given by `refMax` (an n-gram key's largest
 * count in any one reference) and their lengths.
 */
function bleuOf(cand: readonly string[], candCounts: Map<string, number>, refMax: (key: string) => number, refLengths: readonly number[], s: BleuSettings): number {
  if (!cand.length || !refLengths.length) return 0;
  const matched = new Array<number>(s.maxN + 1).fill(0);
  for (const [key, k] of candCounts) {
    const n = Number(key.slice(0, key.indexOf('|')));
    matched[n] = (matched[n] as number) + Math.min(k, refMax(key));
  }
  let logSum = 0;
  let orders = 0;
  for (let n = 1; n <= s.maxN; n++) {
    const total = cand.length - n + 1;
    if (total <= 0) continue; // effective order: the candidate has no n-grams of this order
    const m = matched[n] as number;
    logSum += Math.log((m > 0 ? m : s.epsilon) / total);
    orders++;
  }
  let closest = Infinity;
  let gap = Infinity;
  for (const length of refLengths) {
    const d = Math.abs(length - cand.length);
    if (d < gap || (d === gap && length < closest)) [gap, closest] = [d, length];
  }
  const bp = cand.length > closest ? 1 : Math.exp(1 - closest / cand.length);
  return bp * Math.exp(logSum / orders);
}

/**
 * Sentence BLEU (Papineni et al. 2002) of `candidate` against `references`: clipped n-gram precisions up to
 * maxN (default 4) with uniform weights, brevity penalty against the closest reference length (ties: the
 * shorter), Chen & Cherry (2014) smoothing 1 (a zero match count becomes ε = 0.1, as NLTK's method1), effective
 * order for candidates shorter than maxN words (sacrebleu's); 0 for an empty candidate.
 */
export function sentenceBleu(candidate: string, references: readonly string[], settings: BleuSettings = BLEU4): number {
  const c = words(candidate);
  const refs = references.map(words);
  const counts = refs.map((r) => ngramCounts(r, settings.maxN));
  const refMax = (key: string) => Math.max(0, ...counts.map((m) => m.get(key) ?? 0));
  return bleuOf(c, ngramCounts(c, settings.maxN), refMax, refs.map((r) => r.length), settings);
}

/**
 * Self-BLEU (Zhu et al. 2018, Texygen): mean over texts of the BLEU-4 of each against all the others as
 * references (a similarity: higher = less diverse); 0 with fewer than two texts. Linear in the texts' n-grams:
 * each n-gram keeps its two largest counts and the text of the largest, so "the largest count in any other
 * text" is one lookup.
 */
export function selfBleu(texts: readonly string[], settings: BleuSettings = BLEU4): number {
  if (texts.length < 2) return 0;
  const w = texts.map(words);
  const counts = w.map((x) => ngramCounts(x, settings.maxN));
  const top = new Map<string, { first: number; holder: number; second: number }>();
  counts.forEach((m, i) => {
    for (const [key, k] of m) {
      const t = top.get(key);
      if (!t) top.set(key, { first: k, holder: i, second: 0 });
      else if (k > t.first) [t.second, t.first, t.holder] = [t.first, k, i];
      else if (k > t.second) t.second = k;
    }
  });
  const lengths = w.map((x) => x.length);
  let sum = 0;
  for (let i = 0; i < w.length; i++) {
    const others = [...lengths.slice(0, i), ...lengths.slice(i + 1)];
    const refMax = (key: string) => {
      const t = top.get(key) as { first: number; holder: number; second: number };
      return t.holder === i ? t.second : t.first;
    };
    sum += bleuOf(w[i] as string[], counts[i] as Map<string, number>, refMax, others, settings);
  }
  return sum / w.length;
}

/** At most `max` of `items`, spread evenly over them (deterministic: no random draw, so callers' random streams are untouched). */
export function evenSample<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.floor((i * items.length) / max)] as T);
}

/** hidden: (B, L, D), mask: (B, L) 1 on tokens -> (B, D) the mean of each row's hidden states over its tokens (0 for a row without any). */
export function meanPool(hidden: Tensor, mask: Tensor): Tensor {
  const m = mask.to(hidden.dtype).unsqueeze(-1);
  return hidden.mul(m).sum(1).div(m.sum(1).clamp(1));
}

/**
 * embeddings: (N, D) -> mean over the pairs i < j of the cosine distance 1 − cos(e_i, e_j) (0 = every
 * embedding points the same way, 1 = orthogonal on average, 2 = opposite; higher = more diverse). Rows of
 * zeros (a response without tokens) are left out; 0 with fewer than two rows left.
 */
export function meanCosineDistance(embeddings: Tensor): number {
  const [n, d] = embeddings.shape as [number, number];
  const x = embeddings.toFloat64Array();
  // Σ_{i<j} cos(e_i, e_j) = (|Σ_i u_i|² − N) / 2 with u_i the unit rows: O(N·D), no N × N matrix
  const total = new Float64Array(d);
  let rows = 0;
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let k = 0; k < d; k++) sq += (x[i * d + k] as number) ** 2;
    if (sq === 0) continue;
    const inv = 1 / Math.sqrt(sq);
    for (let k = 0; k < d; k++) total[k] = (total[k] as number) + (x[i * d + k] as number) * inv;
    rows++;
  }
  if (rows < 2) return 0;
  let sumSq = 0;
  for (let k = 0; k < d; k++) sumSq += (total[k] as number) ** 2;
  return 1 - (sumSq - rows) / 2 / ((rows * (rows - 1)) / 2);
}

/** The text diversity of one model's responses (or one RL step's rollouts). */
export interface TextDiversity {
  distinct1: number;
  distinct2: number;
  /** Self-BLEU-4 over an even sample of the responses (higher = less diverse). */
  selfBleu: number;
  /** Mean pairwise ROUGE-L F1 over the same sample (higher = less diverse). */
  rougeL: number;
  /** Responses the pairwise metrics read: min(all, the cap). */
  pairwiseOver: number;
}

/**
 * Self-BLEU and pairwise ROUGE-L within each group of `groupSize` consecutive texts (the samples of one
 * prompt), averaged over the groups: how differently a model answers the same question.
 */
export function withinGroupDiversity(texts: readonly string[], groupSize: number): { selfBleu: number; rougeL: number; groups: number } {
  const groups = Array.from({ length: Math.floor(texts.length / groupSize) }, (_, g) => texts.slice(g * groupSize, (g + 1) * groupSize));
  const mean = (f: (g: string[]) => number) => (groups.length ? groups.reduce((a, g) => a + f(g), 0) / groups.length : NaN);
  return { selfBleu: mean(selfBleu), rougeL: mean(pairwiseRougeL), groups: groups.length };
}

/**
 * distinct-1/2 over all `texts`; self-BLEU and pairwise ROUGE-L over at most `maxPairwise` of them, spread
 * evenly (their cost grows with the square of the count). Pairs are responses to different prompts as well
 * as to the same one: mode collapse is one answer whatever is asked, and RL rollouts usually hold one
 * sample per prompt.
 */
export function textDiversity(texts: readonly string[], maxPairwise: number): TextDiversity {
  const sample = evenSample(texts, maxPairwise);
  return { distinct1: distinctN(texts, 1), distinct2: distinctN(texts, 2), selfBleu: selfBleu(sample), rougeL: pairwiseRougeL(sample), pairwiseOver: sample.length };
}
