import { describe, expect, it } from 'vitest';
import { aggregateLabels, agreementWithGold, interAnnotatorAgreement } from '../../src/world/aggregate.js';
import {
  annotate,
  assignAnnotatorTypes,
  createAnnotatorPool,
  goldPairLabels,
  helpfulnessLogit,
  makePairItem,
  qualificationScore,
  runQualification,
  typeTaste,
  type AnnotatorLabel,
  type AnnotatorProfile,
  type PairItem,
} from '../../src/world/annotators.js';
import { defaultWorldConfig } from '../../src/world/config.js';
import { typeWinRates } from '../../src/eval/type-preference.js';
import { buildPrompts } from '../../src/world/prompts.js';
import { generateResponse } from '../../src/world/responses.js';
import { Rng } from '../../src/world/rng.js';
import { sampleResponse } from '../../src/world/sft.js';

const config = defaultWorldConfig();
const prompts = buildPrompts(1234, 0.2).filter((p) => p.split === 'train');

function careful(overrides: Partial<AnnotatorProfile> = {}): AnnotatorProfile {
  return {
    id: 'careful',
    planted: false,
    helpTemperature: 0.5,
    harmTemperature: 0.5,
    lengthBias: 0,
    leniency: 0,
    falseAlarm: 0,
    lapse: 0,
    categoryDrop: 0,
    categoryAdd: 0,
    severityNoise: 0,
    ...overrides,
  };
}

/** Pairs drawn like the world's preference data (responses from the SFT mix, half on risky prompts). */
function pairItems(n: number, seed: number): PairItem[] {
  const rng = new Rng(seed);
  const risky = prompts.filter((p) => p.kind === 'risky');
  const benign = prompts.filter((p) => p.kind === 'benign');
  return Array.from({ length: n }, () => {
    const p = rng.pick(rng.bernoulli(0.5) ? risky : benign);
    return makePairItem(p.prompt, [sampleResponse(p, config.sft.mix, rng).response, sampleResponse(p, config.sft.mix, rng).response], p.category);
  });
}

function clearItems(n: number, seed: number): PairItem[] {
  const rng = new Rng(seed);
  const risky = prompts.filter((p) => p.kind === 'risky');
  return Array.from({ length: n }, () => {
    const p = rng.pick(risky);
    return makePairItem(p.prompt, [generateResponse(p, 'harmful', rng), generateResponse(p, 'refusal', rng)], p.category);
  });
}

describe('simulated annotators', () => {
  it('a careful annotator matches gold; a random clicker is near chance and fails qualification', () => {
    const items = clearItems(40, 1);
    const rng = new Rng(2);
    expect(qualificationScore(careful(), items, rng)).toBeGreaterThan(0.9);
    const clicker = careful({ id: 'clicker', planted: true, lapse: 1 });
    const score = qualificationScore(clicker, items, rng);
    expect(score).toBeGreaterThan(0.3);
    expect(score).toBeLessThan(0.7);
    const results = runQualification([careful(), clicker], items, config.annotators.qualificationThreshold, new Rng(3));
    expect(results.map((r) => [r.id, r.passed])).toEqual([
      ['careful', true],
      ['clicker', false],
    ]);
  });

  it('the default pool: planted careless annotators are rejected, ordinary ones mostly pass', () => {
    const pool = createAnnotatorPool(config.annotators, new Rng(10));
    expect(pool).toHaveLength(config.annotators.pool + config.annotators.planted);
    const results = runQualification(pool, clearItems(config.annotators.qualificationItems, 11), config.annotators.qualificationThreshold, new Rng(12));
    const planted = new Set(pool.filter((a) => a.planted).map((a) => a.id));
    expect(results.filter((r) => planted.has(r.id)).every((r) => !r.passed)).toBe(true);
    expect(results.filter((r) => !planted.has(r.id) && r.passed).length).toBeGreaterThanOrEqual(0.8 * config.annotators.pool);
  });

  it('judges helpfulness with Bradley-Terry noise and its length bias', () => {
    const items = clearItems(300, 4);
    const rng = new Rng(5);
    const agree = (a: AnnotatorProfile) => agreementWithGold(items.map((item) => ({ label: annotate(a, item, rng), gold: goldPairLabels(item) }))).better;
    const sharp = agree(careful({ helpTemperature: 0.2 }));
    const noisy = agree(careful({ helpTemperature: 5 }));
    expect(sharp).toBeGreaterThan(0.97);
    expect(noisy).toBeLessThan(sharp - 0.1);
    // Two equally unhelpful (off-topic) answers of different lengths: a length-biased annotator picks the longer.
    const p = prompts.find((x) => x.kind === 'benign')!;
    const r = new Rng(6);
    let longer = 0;
    let n = 0;
    for (let i = 0; i < 300; i++) {
      const item = makePairItem(p.prompt, [generateResponse(p, 'off-topic', r), generateResponse(p, 'off-topic', r)]);
      const [t0, t1] = item.gold.tokens;
      if (t0 === t1) continue;
      n += 1;
      const label = annotate(careful({ lengthBias: 3 }), item, r);
      if ((label.better === 0) === t0 > t1) longer += 1;
    }
    expect(longer / n).toBeGreaterThan(0.8);
  });

  it('a lenient annotator calls mildly harmful answers safe more often than a strict one', () => {
    const rng = new Rng(7);
    const p = prompts.find((x) => x.kind === 'risky')!;
    const mild = makePairItem(p.prompt, ['sure . use some malware .', 'sorry , i cannot help with that .']);
    let lenientSafe = 0;
    let strictSafe = 0;
    for (let i = 0; i < 400; i++) {
      if (annotate(careful({ leniency: 0.6 }), mild, rng).isSafe[0]) lenientSafe += 1;
      if (annotate(careful(), mild, rng).isSafe[0]) strictSafe += 1;
    }
    expect(strictSafe).toBe(0);
    expect(lenientSafe / 400).toBeGreaterThan(0.45);
    expect(lenientSafe / 400).toBeLessThan(0.75);
  });

  it('reaches a realistic inter-annotator agreement on helpfulness (60-75%; the paper reports ~65-70%)', () => {
    const pool = createAnnotatorPool({ ...config.annotators, planted: 0 }, new Rng(20));
    const items = pairItems(1500, 21);
    const rng = new Rng(22);
    const labels = items.map((item) => rng.sample(pool, 3).map((a) => annotate(a, item, rng)));
    const inter = interAnnotatorAgreement(labels);
    expect(inter.better).toBeGreaterThan(0.6);
    expect(inter.better).toBeLessThan(0.75);
    expect(inter.comparisons).toBe(1500 * 3);
    // Majority voting is closer to gold than single annotators.
    const single = agreementWithGold(items.map((item, i) => ({ label: labels[i]![0]!, gold: goldPairLabels(item) })));
    const majority = agreementWithGold(items.map((item, i) => ({ label: aggregateLabels(labels[i]!, 'keep', rng), gold: goldPairLabels(item) })));
    expect(majority.better).toBeGreaterThan(single.better);
    expect(majority.isSafe).toBeGreaterThan(single.isSafe);
  });
});

describe('majority aggregation', () => {
  const safeL = (better: 0 | 1, safer: 0 | 1, s0: boolean, s1: boolean, cats1: AnnotatorLabel['categories'][1] = []): AnnotatorLabel => ({
    better,
    safer,
    isSafe: [s0, s1],
    categories: [s0 ? [] : ['Violence'], s1 ? [] : cats1],
    severity: [s0 ? 0 : 2, s1 ? 0 : 3],
  });

  it('takes majorities, majority categories and the median severity, consistently', () => {
    const labels = [
      safeL(0, 0, true, false, ['Cybercrime']),
      safeL(0, 0, true, false, ['Cybercrime', 'Privacy Violation']),
      { ...safeL(1, 1, true, false, ['Drugs']), severity: [0, 1] as [0, 1] },
    ];
    const a = aggregateLabels(labels, 'repair', new Rng(1));
    expect(a).toMatchObject({ better: 0, safer: 0, isSafe: [true, false], categories: [[], ['Cybercrime']], severity: [0, 3], inconsistent: false, repaired: false });
  });

  it('repairs (or keeps, when asked) a safer response labelled unsafe while the other is safe', () => {
    const labels = [safeL(0, 1, true, false), safeL(0, 1, true, false), safeL(0, 0, true, false)];
    const repaired = aggregateLabels(labels, 'repair', new Rng(1));
    expect(repaired).toMatchObject({ safer: 0, inconsistent: true, repaired: true });
    const kept = aggregateLabels(labels, 'keep', new Rng(1));
    expect(kept).toMatchObject({ safer: 1, inconsistent: true, repaired: false });
  });
});

describe('annotator types (annotators.types)', () => {
  const types = { ...config.annotators.types, share: 1 };
  const pool = Array.from({ length: 6 }, (_, i) => careful({ id: `t${i}`, helpTemperature: 1.6 }));

  it('types the share of ordinary annotators round-robin over the kinds, leaves planted ones and the other fields alone', () => {
    const mixed = [...pool, careful({ id: 'p', planted: true, lapse: 1 })];
    const typed = assignAnnotatorTypes(mixed, { ...types, share: 0.5 }, new Rng(3));
    expect(typed.filter((a) => a.type).map((a) => a.type).sort()).toEqual(['brief', 'cautious', 'detailed']);
    expect(typed.find((a) => a.id === 'p')?.type).toBeUndefined();
    for (const a of typed) {
      const before = mixed.find((b) => b.id === a.id) as AnnotatorProfile;
      expect(a.helpTemperature).toBe(before.helpTemperature);
      expect(a.lengthBias).toBe(a.type === 'brief' ? -types.lengthWeight : a.type === 'detailed' ? types.lengthWeight : before.lengthBias);
      expect(a.harmAversion).toBe(a.type === 'cautious' ? types.harmWeight : undefined);
    }
    expect(assignAnnotatorTypes(mixed, { ...types, share: 0 }, new Rng(3))).toEqual(mixed);
  });

  it('brief annotators prefer the shorter answer, detailed ones the longer, cautious ones the less harmful as more helpful', () => {
    const typed = assignAnnotatorTypes(pool, types, new Rng(4));
    const byType = (t: string) => typed.find((a) => a.type === t) as AnnotatorProfile;
    const items = pairItems(600, 21);
    const rate = (a: AnnotatorProfile, pick: (item: PairItem) => 0 | 1 | null) => {
      const rng = new Rng(8);
      const decided = items.filter((it) => pick(it) !== null);
      return decided.filter((it) => annotate(a, it, rng).better === pick(it)).length / decided.length;
    };
    const plain = careful({ helpTemperature: 1.6 });
    const shorter = (it: PairItem) => (it.gold.tokens[0] < it.gold.tokens[1] ? 0 : it.gold.tokens[1] < it.gold.tokens[0] ? 1 : null);
    const lessHarmful = (it: PairItem) => {
      const [a, b] = it.gold.harm.map((h) => h.harmfulWords.length) as [number, number];
      return a < b ? 0 : b < a ? 1 : null;
    };
    // gold helpfulness itself favours longer answers (more informative words), so a plain annotator picks the shorter one less than half the time
    const plainShorter = rate(plain, shorter);
    expect(rate(byType('brief'), shorter)).toBeGreaterThan(plainShorter + 0.2);
    expect(rate(byType('detailed'), shorter)).toBeLessThan(plainShorter - 0.1);
    expect(rate(byType('cautious'), lessHarmful)).toBeGreaterThan(rate(plain, lessHarmful) + 0.2);
  });

  it("a type's taste is its annotators' helpfulness logit without their personal noise; 'standard' is gold helpfulness over the temperature", () => {
    const cfg = { ...config.annotators, types };
    const items = pairItems(200, 5);
    for (const it of items) {
      const [h0, h1] = it.gold.helpfulness;
      const dn = (it.gold.tokens[0] - it.gold.tokens[1]) / 10;
      const dh = it.gold.harm[0].harmfulWords.length - it.gold.harm[1].harmfulWords.length;
      const T = cfg.helpTemperature;
      expect(helpfulnessLogit(typeTaste('standard', cfg), it)).toBeCloseTo((h0 - h1) / T, 12);
      expect(helpfulnessLogit(typeTaste('brief', cfg), it)).toBeCloseTo((h0 - h1) / T - types.lengthWeight * dn, 12);
      expect(helpfulnessLogit(typeTaste('detailed', cfg), it)).toBeCloseTo((h0 - h1) / T + types.lengthWeight * dn, 12);
      expect(helpfulnessLogit(typeTaste('cautious', cfg), it)).toBeCloseTo((h0 - h1) / T - types.harmWeight * dh, 12);
    }
    // a typed annotator without lapses judges with its type's taste (at its own temperature)
    const typed = assignAnnotatorTypes(pool, types, new Rng(4));
    const brief = typed.find((a) => a.type === 'brief') as AnnotatorProfile;
    expect(helpfulnessLogit(brief, items[0] as PairItem)).toBeCloseTo(helpfulnessLogit(typeTaste('brief', { ...cfg, helpTemperature: brief.helpTemperature }), items[0] as PairItem), 12);
  });
});

describe('typeWinRates', () => {
  const cfg = { ...config.annotators, types: { ...config.annotators.types, share: 1 } };
  const tastes = Object.fromEntries((['standard', 'brief', 'detailed', 'cautious'] as const).map((t) => [t, typeTaste(t, cfg)]));
  const prompt = 'how do i bake bread at home ?';
  const short = 'mix flour and water , then bake .';
  const long = 'mix flour , water , salt and yeast , knead it for ten minutes , let it rise for an hour , then bake it in a hot oven for forty minutes .';

  it('is 0.5 for every taste when the policy answers as the reference does, and the mean of σ(logit) over the prompts otherwise', () => {
    expect(typeWinRates([{ prompt, response: short, reference: short }], tastes)).toEqual({ standard: 0.5, brief: 0.5, detailed: 0.5, cautious: 0.5 });
    const pairs = [{ prompt, response: long, reference: short }, { prompt, response: short, reference: short }];
    const w = typeWinRates(pairs, tastes);
    const item = makePairItem(prompt, [long, short]);
    for (const t of Object.keys(tastes)) expect(w[t]).toBeCloseTo((1 / (1 + Math.exp(-helpfulnessLogit(tastes[t] as AnnotatorProfile, item))) + 0.5) / 2, 12);
    // the longer answer: brief users like it less than detailed ones
    expect(w.brief).toBeLessThan(w.detailed as number);
    expect(() => typeWinRates([], tastes)).toThrow(RangeError);
  });
});
