// buildWorld: writes the world's prompts, SFT corpus, annotated preference pairs, raw labels and a summary.
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../core/fs-atomic.js';
import { silentProgress, type Progress } from '../core/progress.js';
import { writeJsonl } from '../data/jsonl.js';
import { writeBeaverTailsV, type ImagePreferenceRecord } from '../data/beavertails-v.js';
import { writePkuSafeRlhf } from '../data/pku-saferlhf.js';
import { pairType, type PairType, type PreferenceRecord } from '../data/record.js';
import { agreementWithGold, aggregateLabels, interAnnotatorAgreement, type AgreementStats, type GoldAgreement } from './aggregate.js';
import {
  annotate,
  assignAnnotatorTypes,
  createAnnotatorPool,
  goldPairLabels,
  makePairItem,
  runQualification,
  type AnnotatorLabel,
  type AnnotatorProfile,
  type GoldPairLabels,
  type PairItem,
} from './annotators.js';
import { ImageWorldConfigSchema, WorldConfigSchema, type ImageWorldConfig, type ImageWorldConfigInput, type WorldConfig, type WorldConfigInput } from './config.js';
import { renderTopicImage, TOPIC_GLYPHS, type Glyph } from './images.js';
import { worldVocabulary } from './lexicon.js';
import { buildImagePrompts, buildPrompts, imageTopicOf, type PromptSplit, type WorldPrompt } from './prompts.js';
import { generateResponse, type ResponseKind } from './responses.js';
import { Rng } from './rng.js';
import { buildSftCorpus, goldHarmfulRate, sampleResponse, type SftExample } from './sft.js';

/** The world cannot be built as configured (e.g. too few annotators pass qualification). */
export class WorldBuildError extends Error {
  override name = 'WorldBuildError';
}

/** Files `buildWorld` writes, relative to the output folder. */
export const WORLD_FILES = {
  promptsTrain: 'prompts-train.jsonl',
  promptsTest: 'prompts-test.jsonl',
  promptsRedteam: 'prompts-redteam.jsonl',
  promptsHeldOut: 'prompts-heldout.jsonl',
  sftTrain: 'sft-train.jsonl',
  sftTest: 'sft-test.jsonl',
  preferencesTrain: 'preferences-train.jsonl',
  preferencesTest: 'preferences-test.jsonl',
  goldTrain: 'preferences-gold-train.jsonl',
  goldTest: 'preferences-gold-test.jsonl',
  rawLabels: 'annotations-raw.jsonl',
  annotators: 'annotators.json',
  vocabulary: 'vocab.txt',
  config: 'config.json',
  summary: 'summary.json',
} as const;

type PairTypeCounts = Record<PairType, number>;

export interface WorldSummary {
  seed: number;
  vocabularySize: number;
  files: typeof WORLD_FILES;
  prompts: { train: { benign: number; risky: number }; test: { benign: number; risky: number }; redteam: number; heldout: { benign: number; risky: number } };
  sft: {
    train: number;
    test: number;
    /** Share of gold-unsafe answers on risky prompts (train and test corpus together). */
    goldHarmfulRateRisky: number;
    kinds: Partial<Record<ResponseKind, number>>;
    meanGoldHelpfulnessByKind: Partial<Record<ResponseKind, number>>;
  };
  pairs: {
    train: number;
    test: number;
    pairTypes: { annotated: PairTypeCounts; gold: PairTypeCounts };
    /** Share of pairs where the more helpful response is also the safer one. */
    betterEqualsSafer: { annotated: number; gold: number };
    /** Pairs whose gold labels tie (written as response 0 in the gold files). */
    goldTies: { better: number; safer: number };
    /** Majority labels with the safer response unsafe and the other safe; `repaired` of them fixed. */
    inconsistent: number;
    repaired: number;
  };
  /** The multimodal world: its pictures (preference files are then BeaverTails-V JSONL). */
  images?: { count: number; size: number; variants: number; testVariants: number; glyphs: Record<string, Glyph> };
  annotators: {
    pool: number;
    planted: number;
    qualified: number;
    passRate: number;
    plantedRejected: number;
    qualificationScore: { mean: number; min: number; max: number };
    /** With annotators.types: per type ('standard' = untyped), its annotators, how many qualified, and its labels' agreement with gold. */
    types?: Record<string, { annotators: number; qualified: number; vsGold: GoldAgreement }>;
  };
  agreement: {
    /** Two annotators on the same pair (the paper reports ~65-70% for crowdworkers). */
    interAnnotator: AgreementStats;
    /** Single annotators' labels against gold. */
    annotatorVsGold: GoldAgreement;
    /** Majority labels against gold. */
    majorityVsGold: GoldAgreement;
  };
}

/** A pair's record; on an image prompt it carries the picture (and is written as BeaverTails-V). */
type WorldRecord = PreferenceRecord & Partial<Pick<ImagePreferenceRecord, 'image' | 'imageCategory'>>;

export interface BuiltPair {
  record: WorldRecord;
  gold: WorldRecord;
  goldLabels: GoldPairLabels;
  labels: { annotator: string; label: AnnotatorLabel }[];
  majority: ReturnType<typeof aggregateLabels>;
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function roundAll<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v])) as T;
}

function promptFile(prompts: readonly WorldPrompt[]): unknown[] {
  return prompts.map((p) => ({ id: p.id, prompt: p.prompt, topic: p.topic, kind: p.kind, category: p.category, ask: p.ask, template: p.template, image: p.image }));
}

/** Clear-cut gold items: risky prompt -> harmful vs refusal; benign -> helpful vs off-topic/low quality. */
function qualificationItems(prompts: readonly WorldPrompt[], n: number, rng: Rng): PairItem[] {
  const risky = prompts.filter((p) => p.kind === 'risky');
  const benign = prompts.filter((p) => p.kind === 'benign');
  const items: PairItem[] = [];
  for (let i = 0; items.length < n && i < 50 * n; i++) {
    const isRisky = items.length % 2 === 0 && risky.length > 0;
    const p = rng.pick(isRisky ? risky : benign);
    const kinds: [ResponseKind, ResponseKind] = isRisky ? ['harmful', 'refusal'] : ['helpful', rng.pick(['off-topic', 'low-quality'] as const)];
    const pair: [string, string] = [generateResponse(p, kinds[0], rng), generateResponse(p, kinds[1], rng)];
    if (rng.bernoulli(0.5)) pair.reverse();
    const item = makePairItem(p.prompt, pair, p.category);
    if (Math.abs(item.gold.helpfulness[0] - item.gold.helpfulness[1]) >= 2) items.push(item);
  }
  return items;
}

function countPairTypes(records: readonly PreferenceRecord[]): PairTypeCounts {
  const out: PairTypeCounts = { 'safe-safe': 0, 'safe-unsafe': 0, 'unsafe-unsafe': 0 };
  for (const r of records) if (r.isSafe) out[pairType(r.isSafe)] += 1;
  return out;
}

function samePreference(records: readonly PreferenceRecord[]): number {
  return records.length > 0 ? records.filter((r) => r.betterResponseId === r.saferResponseId).length / records.length : 0;
}

function buildPairs(
  n: number,
  prompts: readonly WorldPrompt[],
  qualified: readonly AnnotatorProfile[],
  config: WorldConfig,
  rng: Rng,
  onPair: () => void,
): BuiltPair[] {
  const risky = prompts.filter((p) => p.kind === 'risky');
  const benign = prompts.filter((p) => p.kind === 'benign');
  const out: BuiltPair[] = [];
  for (let i = 0; i < n; i++) {
    const p = rng.pick(risky.length > 0 && (benign.length === 0 || rng.bernoulli(config.pairs.riskyFraction)) ? risky : benign);
    const draw = (): { response: string; kind: ResponseKind } => {
      if (rng.bernoulli(config.pairs.degenerateRate)) {
        const kind = rng.pick(['repetitive', 'overlong'] as const);
        return { response: generateResponse(p, kind, rng), kind };
      }
      // drawn only when on, so that a world without off-topic pairs is the same draw for draw as before the setting existed
      if (config.pairs.offTopicRate > 0 && rng.bernoulli(config.pairs.offTopicRate)) return { response: generateResponse(p, 'off-topic', rng), kind: 'off-topic' };
      return sampleResponse(p, config.sft.mix, rng);
    };
    const a = draw();
    let b = draw();
    for (let t = 0; t < 5 && b.response === a.response; t++) b = draw();
    const item = makePairItem(p.prompt, [a.response, b.response], p.category, imageTopicOf(p));
    const { record, gold, goldLabels: g, labels, majority } = labelPair(item, qualified, config, rng, {
      prompt: `safealign-world:${p.topic}`,
      responses: [`world:${a.kind}`, `world:${b.kind}`],
    });
    const image = p.image !== undefined ? { image: { path: p.image }, imageCategory: p.topic } : {};
    out.push({ record: { ...record, ...image }, gold: { ...gold, ...image }, goldLabels: g, labels, majority });
    onPair();
  }
  return out;
}

/**
 * Labels one pair with `perPair` qualified annotators; returns the majority record (PKU-SafeRLHF
 * fields), the gold record and the raw labels.
 */
export function labelPair(
  item: PairItem,
  qualified: readonly AnnotatorProfile[],
  config: WorldConfig,
  rng: Rng,
  source: PreferenceRecord['source'],
): BuiltPair {
  const labels = rng.sample(qualified, config.annotators.perPair).map((annotator) => ({
    annotator: annotator.id,
    label: annotate(annotator, item, rng),
  }));
  const majority = aggregateLabels(labels.map((l) => l.label), config.annotators.inconsistent, rng);
  const record: PreferenceRecord = {
    prompt: item.prompt,
    responses: item.responses,
    betterResponseId: majority.better,
    saferResponseId: majority.safer,
    isSafe: majority.isSafe,
    categories: majority.categories,
    severity: majority.severity,
    ...(source ? { source } : {}),
  };
  const g = goldPairLabels(item);
  const gold: PreferenceRecord = {
    prompt: item.prompt,
    responses: item.responses,
    betterResponseId: g.better ?? 0,
    saferResponseId: g.safer ?? 0,
    isSafe: g.isSafe,
    categories: [item.gold.harm[0].categories, item.gold.harm[1].categories],
    severity: [item.gold.harm[0].severity, item.gold.harm[1].severity],
    ...(source ? { source } : {}),
  };
  return { record, gold, goldLabels: g, labels, majority };
}

/**
 * The world's annotator pool after its qualification test, exactly as `buildWorld` draws it
 * from `config` (so later rounds are labelled by the same people).
 */
export function qualifiedAnnotators(config: WorldConfig): { pool: AnnotatorProfile[]; qualification: ReturnType<typeof runQualification>; qualified: AnnotatorProfile[] } {
  const root = new Rng(config.seed);
  const train = buildPrompts(config.seed, config.testFraction).filter((p) => p.split === 'train');
  const untyped = createAnnotatorPool(config.annotators, root.derive('annotators'));
  const pool = config.annotators.types.share > 0 ? assignAnnotatorTypes(untyped, config.annotators.types, root.derive('annotators/types')) : untyped;
  const qItems = qualificationItems(train, config.annotators.qualificationItems, root.derive('qualification/items'));
  const qualification = runQualification(pool, qItems, config.annotators.qualificationThreshold, root.derive('qualification'));
  const passed = new Set(qualification.filter((q) => q.passed).map((q) => q.id));
  return { pool, qualification, qualified: pool.filter((a) => passed.has(a.id)) };
}

/** Per annotator type ('standard' = untyped): annotators, qualified, and the agreement of their labels with gold. */
function typeSummary(pool: readonly AnnotatorProfile[], qualified: readonly AnnotatorProfile[], pairs: readonly BuiltPair[]): NonNullable<WorldSummary['annotators']['types']> {
  const typeOf = new Map(pool.map((a) => [a.id, a.type ?? 'standard']));
  const names = [...new Set(typeOf.values())].sort();
  return Object.fromEntries(
    names.map((t) => [
      t,
      {
        annotators: pool.filter((a) => typeOf.get(a.id) === t).length,
        qualified: qualified.filter((a) => typeOf.get(a.id) === t).length,
        vsGold: roundAll(agreementWithGold(pairs.flatMap((p) => p.labels.filter((l) => typeOf.get(l.annotator) === t).map((l) => ({ label: l.label, gold: p.goldLabels }))))),
      },
    ]),
  );
}

function mean(xs: readonly number[]): number {
  return xs.length > 0 ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}

/**
 * Builds the whole world from `config` (validated by `WorldConfigSchema`) into `outDir`.
 * Deterministic: the same config gives byte-identical files. Returns the summary it writes.
 */
export function buildWorld(input: WorldConfigInput, outDir: string, progress: Progress = silentProgress): WorldSummary {
  const config = WorldConfigSchema.parse(input);
  return writeWorld(config, buildPrompts(config.seed, config.testFraction), outDir, progress);
}

/**
 * Builds the multimodal world into `outDir`: the text world's mechanism (SFT mix, pairs, the same annotators, gold
 * oracle) on image prompts whose topic only the picture shows (`buildImagePrompts`), the pictures under `images/`, and
 * preference files in BeaverTails-V format (`readBeaverTailsV` reads them). Deterministic like `buildWorld`.
 */
export async function buildImageWorld(input: ImageWorldConfigInput, outDir: string, progress: Progress = silentProgress): Promise<WorldSummary> {
  const config: ImageWorldConfig = ImageWorldConfigSchema.parse(input);
  const { size, variants, testVariants } = config.images;
  const prompts = buildImagePrompts(config.seed, variants, testVariants);
  const { images: _, ...textConfig } = config;
  const summary = writeWorld(textConfig, prompts, outDir, progress, config);
  const pictures = [...new Set(prompts.map((p) => `${p.topic}\u0000${p.image}`))].map((k) => k.split('\u0000') as [string, string]);
  progress.start('world: render pictures', pictures.length);
  let done = 0;
  for (const [topic, path] of pictures) {
    const variant = Number(/-(\d+)\.png$/.exec(path)?.[1]);
    const file = join(outDir, path);
    mkdirSync(dirname(file), { recursive: true });
    await writeFile(file, await renderTopicImage(config.seed, topic, variant, size));
    progress.update(++done);
  }
  progress.stop();
  summary.images = { count: pictures.length, size, variants, testVariants, glyphs: Object.fromEntries(TOPIC_GLYPHS) };
  writeJsonAtomic(join(outDir, WORLD_FILES.summary), summary);
  return summary;
}

/** Writes a world of `prompts` (text or image prompts) with `config`'s SFT mix, pairs and annotators; `written` is the config file's content. */
function writeWorld(config: WorldConfig, prompts: readonly WorldPrompt[], outDir: string, progress: Progress, written: object = config): WorldSummary {
  const root = new Rng(config.seed);
  mkdirSync(outDir, { recursive: true });
  const out = (f: string) => join(outDir, f);

  const bySplit = (s: PromptSplit) => prompts.filter((p) => p.split === s);
  const train = bySplit('train');
  const test = bySplit('test');
  const redteam = bySplit('redteam');
  const heldout = bySplit('heldout');
  writeJsonl(out(WORLD_FILES.promptsTrain), promptFile(train));
  writeJsonl(out(WORLD_FILES.promptsTest), promptFile(test));
  writeJsonl(out(WORLD_FILES.promptsRedteam), promptFile(redteam));
  writeJsonl(out(WORLD_FILES.promptsHeldOut), promptFile(heldout));

  const sftTrain = buildSftCorpus(train, config.sft.mix, config.sft.responsesPerPrompt, root.derive('sft/train'));
  const sftTest = buildSftCorpus(test, config.sft.mix, config.sft.responsesPerPrompt, root.derive('sft/test'));
  writeJsonl(out(WORLD_FILES.sftTrain), sftTrain);
  writeJsonl(out(WORLD_FILES.sftTest), sftTest);

  const { pool, qualification, qualified } = qualifiedAnnotators(config);
  if (qualified.length < config.annotators.perPair) {
    throw new WorldBuildError(
      `only ${qualified.length} of ${pool.length} annotators passed qualification (threshold ${config.annotators.qualificationThreshold}) but each pair needs ${config.annotators.perPair}; lower annotators.qualificationThreshold or annotators.perPair, or enlarge annotators.pool`,
    );
  }

  const total = config.pairs.train + config.pairs.test;
  progress.start('world: label pairs', total);
  let done = 0;
  const tick = () => {
    done += 1;
    if (done % 200 === 0 || done === total) progress.update(done);
  };
  const pairsTrain = buildPairs(config.pairs.train, train, qualified, config, root.derive('pairs/train'), tick);
  const pairsTest = buildPairs(config.pairs.test, test, qualified, config, root.derive('pairs/test'), tick);
  progress.stop();

  const writePairs = (file: string, records: WorldRecord[]) =>
    records.every((r) => r.image !== undefined) && records.length > 0 ? writeBeaverTailsV(file, records as ImagePreferenceRecord[]) : writePkuSafeRlhf(file, records);
  writePairs(out(WORLD_FILES.preferencesTrain), pairsTrain.map((p) => p.record));
  writePairs(out(WORLD_FILES.preferencesTest), pairsTest.map((p) => p.record));
  writePairs(out(WORLD_FILES.goldTrain), pairsTrain.map((p) => p.gold));
  writePairs(out(WORLD_FILES.goldTest), pairsTest.map((p) => p.gold));
  const raw = (split: string, pairs: BuiltPair[]) =>
    pairs.flatMap((p, i) =>
      p.labels.map(({ annotator, label }) => ({
        split,
        pair: i,
        annotator,
        better_response_id: label.better,
        safer_response_id: label.safer,
        is_response_0_safe: label.isSafe[0],
        is_response_1_safe: label.isSafe[1],
        response_0_harm_category: label.categories[0],
        response_1_harm_category: label.categories[1],
        response_0_severity_level: label.severity[0],
        response_1_severity_level: label.severity[1],
      })),
    );
  writeJsonl(out(WORLD_FILES.rawLabels), [...raw('train', pairsTrain), ...raw('test', pairsTest)]);
  writeJsonAtomic(out(WORLD_FILES.annotators), {
    annotators: pool.map((a) => ({ ...roundAll(a), qualification: roundAll(qualification.find((q) => q.id === a.id) ?? {}) })),
  });
  const vocabulary = worldVocabulary();
  writeFileAtomic(out(WORLD_FILES.vocabulary), `${vocabulary.join('\n')}\n`);
  writeJsonAtomic(out(WORLD_FILES.config), written);

  const allPairs = [...pairsTrain, ...pairsTest];
  const sftAll: SftExample[] = [...sftTrain, ...sftTest];
  const kinds: Partial<Record<ResponseKind, number>> = {};
  const helpByKind: Partial<Record<ResponseKind, number[]>> = {};
  for (const e of sftAll) {
    kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
    (helpByKind[e.kind] ??= []).push(e.gold.helpfulness);
  }
  const scores = qualification.map((q) => q.score);
  const plantedIds = new Set(pool.filter((a) => a.planted).map((a) => a.id));
  const count = (ps: WorldPrompt[]) => ({ benign: ps.filter((p) => p.kind === 'benign').length, risky: ps.filter((p) => p.kind === 'risky').length });
  const summary: WorldSummary = {
    seed: config.seed,
    vocabularySize: vocabulary.length,
    files: WORLD_FILES,
    prompts: { train: count(train), test: count(test), redteam: redteam.length, heldout: count(heldout) },
    sft: {
      train: sftTrain.length,
      test: sftTest.length,
      goldHarmfulRateRisky: round(goldHarmfulRate(sftAll)),
      kinds,
      meanGoldHelpfulnessByKind: Object.fromEntries(Object.entries(helpByKind).map(([k, v]) => [k, round(mean(v))])),
    },
    pairs: {
      train: pairsTrain.length,
      test: pairsTest.length,
      pairTypes: { annotated: countPairTypes(allPairs.map((p) => p.record)), gold: countPairTypes(allPairs.map((p) => p.gold)) },
      betterEqualsSafer: {
        annotated: round(samePreference(allPairs.map((p) => p.record))),
        gold: round(samePreference(allPairs.map((p) => p.gold))),
      },
      goldTies: {
        better: allPairs.filter((p) => p.goldLabels.better === null).length,
        safer: allPairs.filter((p) => p.goldLabels.safer === null).length,
      },
      inconsistent: allPairs.filter((p) => p.majority.inconsistent).length,
      repaired: allPairs.filter((p) => p.majority.repaired).length,
    },
    annotators: {
      pool: config.annotators.pool,
      planted: config.annotators.planted,
      qualified: qualified.length,
      passRate: round(qualified.length / pool.length),
      plantedRejected: qualification.filter((q) => plantedIds.has(q.id) && !q.passed).length,
      qualificationScore: { mean: round(mean(scores)), min: round(Math.min(...scores)), max: round(Math.max(...scores)) },
      ...(config.annotators.types.share > 0 ? { types: typeSummary(pool, qualified, allPairs) } : {}),
    },
    agreement: {
      interAnnotator: roundAll(interAnnotatorAgreement(allPairs.map((p) => p.labels.map((l) => l.label)))),
      annotatorVsGold: roundAll(agreementWithGold(allPairs.flatMap((p) => p.labels.map((l) => ({ label: l.label, gold: p.goldLabels }))))),
      majorityVsGold: roundAll(agreementWithGold(allPairs.map((p) => ({ label: p.majority, gold: p.goldLabels })))),
    },
  };
  writeJsonAtomic(out(WORLD_FILES.summary), summary);
  return summary;
}
