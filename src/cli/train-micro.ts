// `safealign train micro`: MiCRo reward heads on your model and your preference data with an annotator column; per-annotator routing and accuracy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { MicroConfigSchema } from '../algorithms/micro/config.js';
import { MixtureScoreModel, saveMixture } from '../algorithms/micro/model.js';
import { preferenceProbabilities, trainMicro, type AnnotatedPair, type Routing } from '../algorithms/micro/train.js';
import { describeScoreTruncation } from '../algorithms/score/train.js';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import type { PreferenceRecord } from '../data/record.js';
import { loadPretrained, type Tokenizer } from '../models/index.js';
import { manualSeed } from '../torch/index.js';
import { terminalProgress } from './progress-bar.js';
import { needTokenizer, PREFERENCE_FORMAT, readPreferenceFile, TRAIN_IO } from './train-io.js';

const MicroCli = z
  .object({
    ...TRAIN_IO,
    format: PREFERENCE_FORMAT,
    annotatorColumn: z.string().default('annotator').describe('the JSONL field naming who labelled each record (a string or a number); records without it are skipped and listed by file:line'),
    micro: MicroConfigSchema.prefault({}).describe('MiCRo settings'),
  })
  .strict();

/** The records of `path` that name an annotator in `column` (read from the record's own line), and where the others are. */
export function withAnnotators(records: readonly PreferenceRecord[], path: string, column: string): { pairs: AnnotatedPair[]; missing: string[] } {
  const lines = readFileSync(path, 'utf8').split('\n');
  const pairs: AnnotatedPair[] = [];
  const missing: string[] = [];
  for (const r of records) {
    const line = r.source?.line;
    let who: unknown;
    try {
      who = line !== undefined ? (JSON.parse(lines[line - 1] ?? '') as Record<string, unknown>)[column] : undefined;
    } catch {
      who = undefined;
    }
    if (typeof who === 'string' || typeof who === 'number') pairs.push({ ...r, annotator: String(who) });
    else missing.push(`${path}:${line ?? '?'}`);
  }
  return { pairs, missing };
}

async function readAnnotated(path: string, format: z.output<typeof MicroCli>['format'], column: string, label: string): Promise<AnnotatedPair[]> {
  const read = await readPreferenceFile(path, format, label);
  const { pairs, missing } = withAnnotators(read.records, path, column);
  if (missing.length > 0) console.error(`warning: ${missing.length} ${label} records have no "${column}" field and were skipped: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`);
  if (pairs.length === 0) throw new ConfigError(`${path}: no record names an annotator in "${column}"; set --annotator-column to the field that does`);
  return pairs;
}

/** Accuracy per annotator (and overall) of the routed mixture on labelled pairs. */
function accuracyByAnnotator(model: MixtureScoreModel, tokenizer: Tokenizer, pairs: readonly AnnotatedPair[], routing: Routing, config: z.output<typeof MicroConfigSchema>, raw: boolean) {
  const p = preferenceProbabilities(model, tokenizer, pairs, routing, config, { raw });
  const by = new Map<string, { right: number; n: number }>();
  pairs.forEach((r, i) => {
    if (Number.isNaN(p[i])) return;
    for (const k of [r.annotator, '(all)']) {
      const s = by.get(k) ?? { right: 0, n: 0 };
      s.n += 1;
      if ((p[i] as number) > 0.5) s.right += 1;
      by.set(k, s);
    }
  });
  return Object.fromEntries([...by].map(([k, s]) => [k, { accuracy: s.right / s.n, n: s.n }]));
}

export function registerMicroCommand(train: Command): void {
  const cmd = train
    .command('micro')
    .description(
      'MiCRo (Shen et al. 2025): K reward heads and a prompt router on one backbone, for annotators whose preferences differ. Stage 1 fits the mixture (per annotator, or per pair with --micro-likelihood pair); ' +
        "stage 2 routes each annotator by Hedge on its first --micro-routing-pairs labelled pairs. Input: preference JSONL (any --format) with an annotator field (--annotator-column). " +
        'Writes the mixture (config.json, model.safetensors), routing.json (each annotator\'s per-head losses) and training_result.json (with --test: accuracy per annotator, routed) to --out; checkpoint/ resumes. --micro-heads 1 trains the single Bradley-Terry baseline the same way.',
    )
    .option('--config <file>', 'YAML config');
  const leaves = addSchemaOptions(cmd, MicroCli);
  cmd.action(async (opts: Record<string, unknown>) => {
    const cfg = resolveConfig(MicroCli, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    useDevice(cfg.device);
    const loaded = loadPretrained(cfg.model);
    const tokenizer = needTokenizer(loaded, cfg.model);
    const train = await readAnnotated(cfg.train, cfg.format, cfg.annotatorColumn, 'train');
    manualSeed(cfg.micro.seed);
    const model = MixtureScoreModel.fromBackbone(loaded.model, cfg.micro.heads);
    const out = trainMicro({ model, tokenizer, train, config: cfg.micro, outDir: cfg.out, progress: terminalProgress(), prompt: { raw: cfg.raw } });
    saveMixture(cfg.out, model, cfg);
    tokenizer.save(cfg.out);
    writeJsonAtomic(join(cfg.out, 'routing.json'), out.routing);
    console.log(`train: ${describeScoreTruncation(out.truncation)}; ${new Set(train.map((p) => p.annotator)).size} annotators, ${Object.keys(out.routing).length} routed`);
    const summary: Record<string, unknown> = { steps: out.steps, heads: cfg.micro.heads, trainLabels: train.length, truncation: { train: out.truncation } };
    if (cfg.test) {
      const test = await readAnnotated(cfg.test, cfg.format, cfg.annotatorColumn, 'test');
      const byAnnotator = accuracyByAnnotator(model, tokenizer, test, out.routing, cfg.micro, cfg.raw);
      summary.test = byAnnotator;
      const all = byAnnotator['(all)'];
      if (all) console.log(`micro (${cfg.micro.heads} heads): test accuracy ${(100 * all.accuracy).toFixed(1)}% over ${all.n} labels, each annotator routed on its training pairs`);
    }
    writeJsonAtomic(join(cfg.out, 'training_result.json'), summary);
    console.log(`model in ${cfg.out}`);
  });
}
