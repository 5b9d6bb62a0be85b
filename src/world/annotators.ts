// Simulated annotators: a pool with individual noise and bias, Bradley-Terry judgements, a qualification test.
import { HARM_CATEGORIES, type HarmCategory, type ResponseId, type Severity } from '../data/record.js';
import type { AnnotatorConfig, AnnotatorTypeName } from './config.js';
import { tokenize } from './lexicon.js';
import { goldHarm, goldHelpfulness, type HarmVerdict } from './oracle.js';
import type { Rng } from './rng.js';

/** One annotator's personal noise and biases (drawn once when the pool is created). */
export interface AnnotatorProfile {
  id: string;
  /** A planted careless annotator (answers at random); the qualification test should reject it. */
  planted: boolean;
  /** Bradley-Terry temperature for helpfulness: P(prefer 0) = sigmoid((H0 - H1) / T + length bias). */
  helpTemperature: number;
  /** Bradley-Terry temperature for harmlessness: P(0 safer) = sigmoid((harm1 - harm0) / T), harm = harmful words. */
  harmTemperature: number;
  /** Added helpfulness logit per 10 tokens that response 0 is longer than response 1. */
  lengthBias: number;
  /** Chance of calling a severity-1 response safe (x0.4 at severity 2, x0.1 at severity 3). */
  leniency: number;
  /** Chance of calling a safe response unsafe. */
  falseAlarm: number;
  /** Chance of answering a whole item at random. */
  lapse: number;
  categoryDrop: number;
  categoryAdd: number;
  severityNoise: number;
  /** A helpfulness taste shared with the other annotators of its type (annotators.types; absent when types are off). */
  type?: AnnotatorTypeName;
  /** Helpfulness logit against each harmful word response 0 has more than response 1 (the 'cautious' type). */
  harmAversion?: number;
}

/** What one annotator says about one pair (helpfulness and harmlessness judged independently). */
export interface AnnotatorLabel {
  better: ResponseId;
  safer: ResponseId;
  isSafe: [boolean, boolean];
  categories: [HarmCategory[], HarmCategory[]];
  severity: [Severity, Severity];
}

/** A pair to label, with its gold values computed once. */
export interface PairItem {
  prompt: string;
  /** Harm category of the prompt's topic (used when a false alarm needs a category). */
  promptCategory?: HarmCategory;
  responses: [string, string];
  gold: { helpfulness: [number, number]; harm: [HarmVerdict, HarmVerdict]; tokens: [number, number] };
}

/** Gold preference labels of a pair; `null` where gold is tied. */
export interface GoldPairLabels {
  better: ResponseId | null;
  safer: ResponseId | null;
  isSafe: [boolean, boolean];
}

const LENIENCY_BY_SEVERITY = [0, 1, 0.4, 0.1] as const;

/** A pair with its gold values; `imageTopic`: the picture's topic of an image prompt (the annotators see the picture too). */
export function makePairItem(prompt: string, responses: [string, string], promptCategory?: HarmCategory, imageTopic?: string): PairItem {
  const item: PairItem = {
    prompt,
    responses,
    gold: {
      helpfulness: [goldHelpfulness(prompt, responses[0], imageTopic), goldHelpfulness(prompt, responses[1], imageTopic)],
      harm: [goldHarm(prompt, responses[0]), goldHarm(prompt, responses[1])],
      tokens: [tokenize(responses[0]).length, tokenize(responses[1]).length],
    },
  };
  if (promptCategory) item.promptCategory = promptCategory;
  return item;
}

/** Gold better = higher gold helpfulness; gold safer = fewer harmful words; null on ties. */
export function goldPairLabels(item: PairItem): GoldPairLabels {
  const [h0, h1] = item.gold.helpfulness;
  const [a, b] = item.gold.harm;
  return {
    better: h0 > h1 ? 0 : h1 > h0 ? 1 : null,
    safer: a.harmfulWords.length < b.harmfulWords.length ? 0 : b.harmfulWords.length < a.harmfulWords.length ? 1 : null,
    isSafe: [a.isSafe, b.isSafe],
  };
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Creates `pool` ordinary annotators (noise and biases drawn per person) plus `planted` careless ones. */
export function createAnnotatorPool(cfg: AnnotatorConfig, rng: Rng): AnnotatorProfile[] {
  const out: AnnotatorProfile[] = [];
  const total = cfg.pool + cfg.planted;
  for (let i = 0; i < total; i++) {
    const planted = i >= cfg.pool;
    out.push({
      id: `a${String(i).padStart(2, '0')}`,
      planted,
      helpTemperature: cfg.helpTemperature * Math.exp(cfg.temperatureSpread * rng.normal()),
      harmTemperature: cfg.harmTemperature * Math.exp(cfg.temperatureSpread * rng.normal()),
      lengthBias: rng.uniform(0, cfg.lengthBiasMax),
      leniency: rng.uniform(0, cfg.leniencyMax),
      falseAlarm: rng.uniform(0, cfg.falseAlarmMax),
      lapse: planted ? 1 : rng.uniform(0, cfg.lapseMax),
      categoryDrop: cfg.categoryDrop,
      categoryAdd: cfg.categoryAdd,
      severityNoise: cfg.severityNoise,
    });
  }
  return out;
}

/** What each type changes in an annotator's helpfulness judgement (its noise and safety judgements stay its own). */
const ANNOTATOR_TYPES: Record<AnnotatorTypeName, (t: AnnotatorConfig['types']) => Partial<AnnotatorProfile>> = {
  brief: (t) => ({ lengthBias: -t.lengthWeight }),
  detailed: (t) => ({ lengthBias: t.lengthWeight }),
  cautious: (t) => ({ harmAversion: t.harmWeight }),
};

/** The helpfulness taste of a type with no personal noise: the pool's temperature, the type's length bias and harm aversion ('standard': gold helpfulness alone). */
export function typeTaste(type: AnnotatorTypeName | 'standard', cfg: Pick<AnnotatorConfig, 'helpTemperature' | 'types'>): HelpfulnessTaste {
  return { helpTemperature: cfg.helpTemperature, lengthBias: 0, ...(type === 'standard' ? {} : ANNOTATOR_TYPES[type](cfg.types)) };
}

/**
 * Gives `round(share · ordinary annotators)` of the pool a type, round-robin over `kinds`, chosen by `rng`
 * (a stream of its own, so the pool's draws are the same with types on or off). Planted annotators stay untyped.
 */
export function assignAnnotatorTypes(pool: readonly AnnotatorProfile[], types: AnnotatorConfig['types'], rng: Rng): AnnotatorProfile[] {
  const ordinary = pool.filter((a) => !a.planted);
  const chosen = rng.sample(ordinary, Math.round(types.share * ordinary.length));
  const typeOf = new Map(chosen.map((a, i) => [a.id, types.kinds[i % types.kinds.length] as AnnotatorTypeName]));
  return pool.map((a) => {
    const type = typeOf.get(a.id);
    return type ? { ...a, ...ANNOTATOR_TYPES[type](types), type } : a;
  });
}

function coin(rng: Rng): ResponseId {
  return rng.bernoulli(0.5) ? 0 : 1;
}

function randomLabel(rng: Rng): AnnotatorLabel {
  const one = (): [boolean, HarmCategory[], Severity] => {
    const safe = rng.bernoulli(0.5);
    return safe ? [true, [], 0] : [false, [rng.pick(HARM_CATEGORIES)], (1 + rng.int(3)) as Severity];
  };
  const [s0, c0, v0] = one();
  const [s1, c1, v1] = one();
  return { better: coin(rng), safer: coin(rng), isSafe: [s0, s1], categories: [c0, c1], severity: [v0, v1] };
}

function judgeResponse(
  a: AnnotatorProfile,
  verdict: HarmVerdict,
  promptCategory: HarmCategory | undefined,
  rng: Rng,
): [boolean, HarmCategory[], Severity] {
  const safe = verdict.isSafe ? !rng.bernoulli(a.falseAlarm) : rng.bernoulli(a.leniency * LENIENCY_BY_SEVERITY[verdict.severity]);
  if (safe) return [true, [], 0];
  const cats = new Set(verdict.categories.filter(() => !rng.bernoulli(a.categoryDrop)));
  if (rng.bernoulli(a.categoryAdd)) cats.add(rng.pick(HARM_CATEGORIES));
  if (cats.size === 0) cats.add(verdict.categories[0] ?? promptCategory ?? rng.pick(HARM_CATEGORIES));
  let severity = Math.max(1, verdict.severity);
  if (rng.bernoulli(a.severityNoise)) severity += rng.bernoulli(0.5) ? 1 : -1;
  return [false, HARM_CATEGORIES.filter((c) => cats.has(c)), Math.min(3, Math.max(1, severity)) as Severity];
}

/** What a helpfulness judgement reads of an annotator. */
export type HelpfulnessTaste = Pick<AnnotatorProfile, 'helpTemperature' | 'lengthBias' | 'harmAversion'>;

/**
 * The Bradley-Terry logit of preferring response 0 for helpfulness: gold helpfulness over the temperature, plus the
 * length bias per 10 tokens response 0 is longer, minus the harm aversion per harmful word it has more.
 */
export function helpfulnessLogit(a: HelpfulnessTaste, item: PairItem): number {
  const [h0, h1] = item.gold.helpfulness;
  const [n0, n1] = item.gold.tokens;
  const harmDiff = item.gold.harm[0].harmfulWords.length - item.gold.harm[1].harmfulWords.length;
  return (h0 - h1) / a.helpTemperature + (a.lengthBias * (n0 - n1)) / 10 - (a.harmAversion ?? 0) * harmDiff;
}

/**
 * One annotator's labels for a pair. Helpfulness: Bradley-Terry on gold helpfulness with the
 * annotator's temperature, length bias and (the 'cautious' type) harm aversion. Harmlessness, judged
 * separately: Bradley-Terry on the number of harmful words. Safety, categories, severity: noisy reads of the gold harm.
 */
export function annotate(a: AnnotatorProfile, item: PairItem, rng: Rng): AnnotatorLabel {
  if (rng.bernoulli(a.lapse)) return randomLabel(rng);
  const [g0, g1] = item.gold.harm;
  const harmDiff = g0.harmfulWords.length - g1.harmfulWords.length;
  const better: ResponseId = rng.bernoulli(sigmoid(helpfulnessLogit(a, item))) ? 0 : 1;
  const harmLogit = -harmDiff / a.harmTemperature;
  const safer: ResponseId = rng.bernoulli(sigmoid(harmLogit)) ? 0 : 1;
  const [s0, c0, v0] = judgeResponse(a, g0, item.promptCategory, rng);
  const [s1, c1, v1] = judgeResponse(a, g1, item.promptCategory, rng);
  return { better, safer, isSafe: [s0, s1], categories: [c0, c1], severity: [v0, v1] };
}

export interface QualificationResult {
  id: string;
  /** Share of correct judgements (better, safer where gold is not tied, is_safe of each response). */
  score: number;
  passed: boolean;
}

/** Scores one annotator on gold items. */
export function qualificationScore(a: AnnotatorProfile, items: readonly PairItem[], rng: Rng): number {
  let right = 0;
  let total = 0;
  for (const item of items) {
    const gold = goldPairLabels(item);
    const label = annotate(a, item, rng);
    const checks: boolean[] = [label.isSafe[0] === gold.isSafe[0], label.isSafe[1] === gold.isSafe[1]];
    if (gold.better !== null) checks.push(label.better === gold.better);
    if (gold.safer !== null) checks.push(label.safer === gold.safer);
    right += checks.filter(Boolean).length;
    total += checks.length;
  }
  return total > 0 ? right / total : 0;
}

/** Runs the qualification test for every annotator; `passed` = score >= threshold. */
export function runQualification(
  pool: readonly AnnotatorProfile[],
  items: readonly PairItem[],
  threshold: number,
  rng: Rng,
): QualificationResult[] {
  return pool.map((a) => {
    const score = qualificationScore(a, items, rng.derive(`qualification/${a.id}`));
    return { id: a.id, score, passed: score >= threshold };
  });
}
