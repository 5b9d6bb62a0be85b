// `safealign train reward|cost`: a score model from preference data of any supported format (PKU-SafeRLHF, HH-RLHF, {prompt, chosen, rejected}) or, for costs, safety labels alone.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { ScoreConfigSchema } from '../algorithms/score/config.js';
import { labelsWithPixels, type ScoreRecord } from '../algorithms/score/items.js';
import { describeScoreTruncation, evaluateScoreModel, trainScoreModel, type ScoreData, type ScoreKind } from '../algorithms/score/train.js';
import { imageInput, readBeaverTailsV } from '../data/beavertails-v.js';
import { DATA_FORMATS } from '../data/formats.js';
import { readJsonl } from '../data/jsonl.js';
import { readJson } from '../models/hf.js';
import { loadLlava, saveLlava } from '../models/hf-vision.js';
import { preprocessImages, type ImageProcessorConfig } from '../models/image-processor.js';
import { LlavaScoreModel } from '../models/llava.js';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { dataParallel } from '../distributed/data-parallel.js';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { hasSafetyLabels, type PreferenceRecord } from '../data/record.js';
import type { SafetyLabel } from '../data/safety-labels.js';
import { CausalLM, loadPretrained, savePretrained, ScoreModel, type Tokenizer } from '../models/index.js';
import { manualSeed } from '../torch/index.js';
import { terminalProgress } from './progress-bar.js';
import { needTokenizer, readLabelFile, readPreferenceFile, reportProblems, TRAIN_IO, type DataSummary } from './train-io.js';

/** Preference formats of the score commands: the text ones, and BeaverTails-V image + text pairs (for a LLaVA --model). */
const SCORE_FORMAT = z
  .enum(['auto', ...DATA_FORMATS, 'beavertails-v'])
  .default('auto')
  .describe('preference file format: pku (PKU-SafeRLHF), hh (HH-RLHF chosen/rejected dialogues), pairs ({prompt, chosen, rejected}), beavertails-v (image + question, response_1/2; needs a LLaVA --model); auto detects it from the first line');
const ScoreCli = z
  .object({
    ...TRAIN_IO,
    model: z.string().describe('Hugging Face model folder to start from (config.json, model.safetensors, tokenizer.json); a LLaVA folder (model_type llava, with preprocessor_config.json) for image + text data'),
    format: SCORE_FORMAT,
    freezeVision: z.boolean().default(true).describe('LLaVA --model: keep the vision tower fixed (only the projector, the language model and the head learn)'),
    score: ScoreConfigSchema.prefault({}).describe('score-model settings'),
  })
  .strict();
const CostCli = ScoreCli.extend({
  costData: z
    .enum(['pairs', 'labels', 'severity'])
    .default('pairs')
    .describe(
      'pairs: safer/unsafer pairs with safety labels (PKU-SafeRLHF; the full cost loss); labels: responses labelled safe/unsafe alone ({prompt, response, is_safe} JSONL, or each PKU-SafeRLHF response; the classification term only); severity: a severity classifier, an ordinal head on the cost score trained on each response\'s severity level (PKU-SafeRLHF response_N_severity_level, or {prompt, response, is_safe, severity_level}; cumulative-logit loss)',
    ),
  severityLevels: z.number().int().min(2).max(16).default(4).describe('--cost-data severity: levels of the ordinal head (4: PKU-SafeRLHF 0 safe, 1 minor, 2 moderate, 3 severe)'),
}).strict();
type CostData = z.output<typeof CostCli>['costData'];
type Format = z.output<typeof ScoreCli>['format'];

/** Whether the first readable line of `path` is BeaverTails-V (question, image, response_1). */
async function isBeaverTailsV(path: string): Promise<boolean> {
  for await (const item of readJsonl(path)) {
    if ('error' in item) continue;
    const v = item.value as Record<string, unknown>;
    return typeof v === 'object' && v !== null && 'question' in v && 'image' in v && 'response_1' in v;
  }
  return false;
}

/** A BeaverTails-V file's records with their images as pixel values for the model's image processor; problems reported by file:line. */
async function readImagePairs(path: string, label: string, processor: ImageProcessorConfig | undefined): Promise<{ records: ScoreRecord[]; summary: DataSummary }> {
  if (!processor) throw new ConfigError(`${path} is BeaverTails-V (image + text) data, but --model is not a LLaVA folder with preprocessor_config.json: start from an image + text model`);
  const read = await readBeaverTailsV(path);
  reportProblems(read.problems, path);
  if (read.records.length === 0) throw new ConfigError(`${path}: no record could be read as BeaverTails-V (${read.stats.lines} lines, ${read.stats.unreadable} unreadable)`);
  const pixels = await preprocessImages(read.records.map(imageInput), processor, read.records.map((r) => `${path}:${r.source?.line ?? '?'}`));
  console.log(`${label}: ${read.records.length} image + text records from ${path} (beavertails-v), ${read.stats.unreadable} unreadable lines`);
  return {
    records: read.records.map((r, i) => ({ ...r, pixels: pixels.narrow(0, i, 1) })),
    summary: { file: path, format: 'beavertails-v', lines: read.stats.lines, unreadable: read.stats.unreadable, used: read.records.length },
  };
}

/** Reads a train or test file as the score model's data: preference pairs, or (cost, --cost-data labels) per-response labels. */
async function readScoreData(kind: ScoreKind, costData: CostData, format: Format, path: string, label: string, processor?: ImageProcessorConfig): Promise<{ data: ScoreData; summary: DataSummary }> {
  if (format === 'beavertails-v' || (format === 'auto' && (await isBeaverTailsV(path)))) {
    const read = await readImagePairs(path, label, processor);
    if (costData === 'pairs') return { data: read.records, summary: read.summary };
    const all = labelsWithPixels(read.records);
    const labels = costData === 'severity' ? withSeverity(all, path) : { labels: all, missing: 0 };
    return { data: { labels: labels.labels }, summary: { ...read.summary, used: labels.labels.length, ...(costData === 'severity' ? { noSeverity: labels.missing } : {}) } };
  }
  if (costData === 'labels') {
    const read = await readLabelFile(path, format, label);
    return { data: { labels: read.labels }, summary: read.summary };
  }
  if (costData === 'severity') {
    const read = await readLabelFile(path, format, label);
    const { labels, missing } = withSeverity(read.labels, path);
    return { data: { labels }, summary: { ...read.summary, used: labels.length, noSeverity: missing } };
  }
  const read = await readPreferenceFile(path, format, label);
  if (kind === 'cost') needSafetyLabels(read.records, path, read.format);
  return { data: read.records, summary: read.summary };
}

const ABOUT: Record<ScoreKind, string> = {
  reward: 'reward model (helpfulness) on preference pairs: PKU-SafeRLHF (better_response_id), HH-RLHF (chosen/rejected dialogues, split at the last Assistant turn) or {prompt, chosen, rejected} JSONL',
  cost: 'cost model (harm) on PKU-SafeRLHF pairs (safer_response_id + is_response_*_safe), with --cost-data labels on responses labelled safe/unsafe alone, or with --cost-data severity a severity classifier (ordinal head) on severity levels',
};

/** The labels that carry a severity level; those without are reported by file:line (the first few) and counted. */
function withSeverity<L extends SafetyLabel>(labels: readonly L[], file: string): { labels: L[]; missing: number } {
  const kept = labels.filter((l) => l.severity !== undefined);
  const missing = labels.filter((l) => l.severity === undefined);
  const at = missing.slice(0, 10).map((l) => `${file}:${l.source?.line ?? '?'}`);
  if (missing.length) console.error(`warning: ${missing.length} responses without a severity level skipped: ${at.join(', ')}${missing.length > at.length ? ', …' : ''}`);
  if (kept.length === 0) throw new ConfigError(`${file}: no response has a severity level; --cost-data severity needs PKU-SafeRLHF response_N_severity_level or {prompt, response, is_safe, severity_level}`);
  return { labels: kept, missing: missing.length };
}

/** A cost model needs safety labels: says so, naming the file, when none of its records has them. */
function needSafetyLabels(records: readonly PreferenceRecord[], file: string, format: string): void {
  if (records.length > 0 && !records.some(hasSafetyLabels)) {
    throw new ConfigError(`${file}: a cost model needs safety labels (safer_response_id, is_response_N_safe), but this ${format} file has none; give PKU-SafeRLHF data, or {prompt, response, is_safe} JSONL with --cost-data labels`);
  }
}

/** Whether `dir` holds a LLaVA (image + text) model: config.json with model_type llava. */
function isLlavaFolder(dir: string): boolean {
  const path = join(dir, 'config.json');
  return existsSync(path) && (readJson(path) as { model_type?: unknown }).model_type === 'llava';
}

/**
 * The score model to train, its tokenizer and (LLaVA) image processor: a fresh head on a text model's backbone, or on a
 * LLaVA LM's tower, projector and language model (tower frozen with `freezeVision`). The head is drawn at random after
 * seeding, so the same command gives the same model.
 */
function startScoreModel(dir: string, kind: ScoreKind, levels: number, seed: number, freezeVision: boolean): { model: ScoreModel | LlavaScoreModel; tokenizer: Tokenizer; imageProcessor?: ImageProcessorConfig } {
  if (isLlavaFolder(dir)) {
    const loaded = loadLlava(dir);
    if (!loaded.tokenizer) throw new ConfigError(`${dir}: no tokenizer.json; training needs the model's tokenizer beside it`);
    manualSeed(seed);
    const model = LlavaScoreModel.fromLlava(loaded.model, kind, levels);
    if (freezeVision) model.freezeVisionTower();
    return { model, tokenizer: loaded.tokenizer, ...(loaded.imageProcessor ? { imageProcessor: loaded.imageProcessor } : {}) };
  }
  const loaded = loadPretrained(dir);
  const tokenizer = needTokenizer(loaded, dir);
  manualSeed(seed);
  return { model: loaded.model instanceof CausalLM ? ScoreModel.fromCausalLM(loaded.model, kind, levels) : ScoreModel.fromScoreModel(loaded.model, kind, levels), tokenizer };
}

/** Adds `train reward` and `train cost`. */
export function registerScoreCommands(train: Command): void {
  for (const kind of ['reward', 'cost'] as const satisfies ScoreKind[]) {
    const cmd = train.command(kind).description(ABOUT[kind]).option('--config <file>', 'YAML config');
    const schema: typeof ScoreCli | typeof CostCli = kind === 'cost' ? CostCli : ScoreCli;
    const leaves = addSchemaOptions(cmd, schema);
    cmd.action(async (opts: Record<string, unknown>) => {
      const cfg = resolveConfig(schema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
      useDevice(cfg.device);
      // reward commands have no --cost-data: they train on pairs
      const costData: CostData = (cfg as Partial<z.output<typeof CostCli>>).costData ?? 'pairs';
      const levels = costData === 'severity' ? ((cfg as Partial<z.output<typeof CostCli>>).severityLevels ?? 4) : 0;
      const start = startScoreModel(cfg.model, kind, levels, cfg.score.seed, cfg.freezeVision);
      const { model, tokenizer, imageProcessor } = start;
      const train = await readScoreData(kind, costData, cfg.format, cfg.train, 'train', imageProcessor);
      const what = costData === 'pairs' ? 'pairs' : 'responses';
      const result = trainScoreModel({ kind, model, tokenizer, train: train.data, config: cfg.score, outDir: cfg.out, progress: terminalProgress(), prompt: { raw: cfg.raw } });
      if (!dataParallel().isMain) return; // rank 0 writes the model, evaluates and reports
      if (model instanceof LlavaScoreModel) saveLlava(cfg.out, model, { tokenizer, ...(imageProcessor ? { imageProcessor } : {}) });
      else savePretrained(cfg.out, model, { tokenizer, trainingConfig: cfg });
      console.log(`train: ${describeScoreTruncation(result.truncation, what)}`);
      const summary: Record<string, unknown> = {
        steps: result.steps,
        format: train.summary.format,
        ...(kind === 'cost' ? { costData } : {}),
        data: { train: train.summary },
        truncation: { train: result.truncation },
      };
      if (cfg.test) {
        const test = await readScoreData(kind, costData, cfg.format, cfg.test, 'test', imageProcessor);
        const ev = evaluateScoreModel(kind, model, tokenizer, test.data, { maxLength: cfg.score.maxLength, prompt: { raw: cfg.raw } });
        summary.test = ev;
        (summary.data as Record<string, DataSummary>).test = test.summary;
        if (ev.truncation) console.log(`test: ${describeScoreTruncation(ev.truncation, what)}`);
        const accuracy = costData !== 'pairs' ? '' : `test accuracy ${(100 * ev.accuracy).toFixed(1)}%`;
        const sign = ev.signAccuracy !== undefined ? `${accuracy ? ', ' : 'test '}sign accuracy ${(100 * ev.signAccuracy).toFixed(1)}%` : '';
        console.log(`${kind} model: ${accuracy}${sign}`);
        if (ev.severity) {
          const recall = ev.severity.recall.map((r, l) => `${l}: ${Number.isNaN(r) ? '–' : `${(100 * r).toFixed(0)}%`}`).join(', ');
          console.log(`  severity: accuracy ${(100 * ev.severity.accuracy).toFixed(1)}%, mean |level error| ${ev.severity.meanAbsError.toFixed(3)}, recall by level ${recall}`);
        }
        if (kind === 'cost') {
          console.log(`  safe responses: mean ${ev.safeMean.toFixed(3)} (std ${ev.safeStd.toFixed(3)}); unsafe: mean ${ev.unsafeMean.toFixed(3)} (std ${ev.unsafeStd.toFixed(3)})`);
        }
      }
      writeJsonAtomic(join(cfg.out, 'training_result.json'), summary);
      console.log(`model in ${cfg.out}`);
    });
  }
}
