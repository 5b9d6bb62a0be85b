// Verbalized sampling (Zhang et al. 2025, arXiv 2510.01171): ask a chat model for k answers with their probabilities, parse the list strictly, draw one answer from it.
import { z } from 'zod';
import { Rng } from '../world/rng.js';

/** K of verbalized sampling in a config: 0 = off, else 2…20 answers (one answer leaves nothing to draw). */
export const VerbalizedKSchema = z
  .number()
  .int()
  .min(0)
  .max(20)
  .refine((k) => k !== 1, 'verbalized sampling needs at least 2 answers to draw from (0 turns it off)')
  .default(0);
/** Generations tried until one is a well-formed list. */
export const VerbalizedAttemptsSchema = z.number().int().min(1).max(10).default(3);

/** The instruction appended to the user's message; `k` answers, one per line, each ending in `(probability: p)`. */
export function verbalizedPrompt(prompt: string, k: number): string {
  return (
    `${prompt}\n\n` +
    `Give ${k} different possible responses to the request above, each with the probability that you would give it (the probabilities sum to 1). ` +
    `Write exactly ${k} lines, one response per line, in this form:\n1. <response> (probability: <a number between 0 and 1>)`
  );
}

/** One answer of a parsed list: its text, the probability as stated (a fraction; 35% reads 0.35) and its weight after renormalising. */
export interface VerbalizedAnswer {
  text: string;
  probability: number;
  weight: number;
}

export type VerbalizedParse = { ok: true; answers: VerbalizedAnswer[]; statedSum: number } | { ok: false; problems: string[] };

// optional numbering ("1.", "2)", "(3)", "4:") or bullet ("-", "*", "•"), then the answer, then the probability at the line's end:
// "(probability: 0.3)", "- probability 30%", "| prob = .3", "[p: 0.3]", "**Probability:** 0.3"
const NUMBERING = /^(?:\(?\d{1,3}[.):\]]|[-*•])\s+/;
const ITEM = /^(.*?)[\s|,;:\-–—]*[([]?\s*[*_]*(?<![A-Za-z])(?:probability|prob|p)[*_]*\s*[:=]?\s*[*_]*\s*(\d*\.?\d+)\s*(%?)\s*[*_]*\s*[)\]]?\s*\.?$/i;

/**
 * Parses a model's verbalized list, strictly: each answer on one line (numbering, bullets, blank lines, CRLF and
 * a missing final newline tolerated), ending in a probability written as a fraction (0.3, .3) or a percentage
 * (30%), labelled `probability`, `prob` or `p`. Text before the first answer and after the last is ignored
 * (a preamble, a closing remark). Rejected, with every problem named by line: a numbered line without a
 * probability (cut off, or a different format), text between answers (an answer over several lines), a
 * number above 1 without %, a percentage above 100, an empty answer, all probabilities 0, and a count other
 * than `k`. Never guesses: a rejected list gives no answers. Weights are the probabilities renormalised to sum 1.
 */
export function parseVerbalized(raw: string, k: number): VerbalizedParse {
  const lines = raw.split(/\r?\n/);
  const items: { line: number; text: string; probability: number }[] = [];
  const problems: string[] = [];
  let between: number[] = [];
  lines.forEach((full, i) => {
    const line = full.trim();
    if (!line) return;
    const m = ITEM.exec(line.replace(NUMBERING, ''));
    if (!m) {
      if (NUMBERING.test(line)) problems.push(`line ${i + 1}: "${clip(line)}" has no probability at its end (expected "… (probability: 0.25)")`);
      else if (items.length > 0) between.push(i + 1);
      return;
    }
    for (const b of between) problems.push(`line ${b}: "${clip(lines[b - 1]?.trim() ?? '')}" lies between answers: each answer must be one line ending in its probability`);
    between = [];
    const text = (m[1] ?? '').trim();
    const value = Number(m[2]);
    const percent = m[3] === '%';
    if (!text) problems.push(`line ${i + 1}: the answer is empty`);
    if (percent && value > 100) problems.push(`line ${i + 1}: probability ${value}% is above 100%`);
    if (!percent && value > 1) problems.push(`line ${i + 1}: probability ${value} without % is above 1 (write 0.35 or 35%)`);
    items.push({ line: i + 1, text, probability: percent ? value / 100 : value });
  });
  if (items.length === 0) problems.push('no line ends in a probability (expected lines like "1. <answer> (probability: 0.25)")');
  else if (items.length !== k) problems.push(`expected ${k} answers, found ${items.length}`);
  const statedSum = items.reduce((s, it) => s + it.probability, 0);
  if (items.length > 0 && statedSum === 0) problems.push('every probability is 0: nothing to sample from');
  if (problems.length) return { ok: false, problems };
  return { ok: true, answers: items.map((it) => ({ text: it.text, probability: it.probability, weight: it.probability / statedSum })), statedSum };
}

const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

/** The index of one answer drawn from the weights (they sum to 1) by a seeded stream. */
export function pickVerbalized(answers: readonly VerbalizedAnswer[], rng: Rng): number {
  const u = rng.next();
  let acc = 0;
  for (let i = 0; i < answers.length; i++) {
    acc += (answers[i] as VerbalizedAnswer).weight;
    if (u < acc) return i;
  }
  return answers.length - 1;
}

/** What verbalized sampling returns for one request: the drawn answer and the list, or every rejected attempt's problems. */
export type VerbalizedResult =
  | { ok: true; answer: string; chosen: number; answers: VerbalizedAnswer[]; statedSum: number; attempts: number; rejected: string[][] }
  | { ok: false; attempts: number; rejected: string[][]; raw: string };

/**
 * Verbalized sampling over a generator: `generate(attempt)` returns a raw list (attempt 0, then fresh draws),
 * until one parses or `attempts` are spent; then one answer is drawn from the list by `rng`.
 */
export async function verbalizedSample(generate: (attempt: number) => Promise<string> | string, k: number, attempts: number, rng: Rng): Promise<VerbalizedResult> {
  const rejected: string[][] = [];
  let raw = '';
  for (let attempt = 0; attempt < attempts; attempt++) {
    raw = await generate(attempt);
    const parsed = parseVerbalized(raw, k);
    if (!parsed.ok) {
      rejected.push(parsed.problems);
      continue;
    }
    const chosen = pickVerbalized(parsed.answers, rng);
    return { ok: true, answer: (parsed.answers[chosen] as VerbalizedAnswer).text, chosen, answers: parsed.answers, statedSum: parsed.statedSum, attempts: attempt + 1, rejected };
  }
  return { ok: false, attempts, rejected, raw };
}
