// `safealign train reward|cost`: a score model from preference data of any supported format (PKU-SafeRLHF, HH-RLHF, {prompt, chosen, rejected}) or, for costs, safety labels alone.
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { ScoreConfigSchema } from '../algorithms/score/config.js';
import { describeScoreTruncation, evaluateScoreModel, trainScoreModel, type ScoreData, type ScoreKind } from '../algorithms/score/train.js';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { dataParallel } from '../distributed/data-parallel.js';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { hasSafetyLabels, type PreferenceRecord } from '../data/record.js';
import { CausalLM, loadPretrained, savePretrained, ScoreModel } from '../models/index.js';
import { manualSeed } from '../torch/index.js';
import { terminalProgress } from './progress-bar.js';
import { needTokenizer, PREFERENCE_FORMAT, readLabelFile, readPreferenceFile, TRAIN_IO, type DataSummary } from './train-io.js';

const ScoreCli = z.object({ ...TRAIN_IO, format: PREFERENCE_FORMAT, score: ScoreConfigSchema.prefault({}).describe('score-model settings') }).strict();
const CostCli = ScoreCli.extend({
  costData: z
    .enum(['pairs', 'labels'])
    .default('pairs')
    .describe('pairs: safer/unsafer pairs with safety labels (PKU-SafeRLHF; the full cost loss); labels: responses labelled safe/unsafe alone ({prompt, response, is_safe} JSONL, or each PKU-SafeRLHF response; the classification term only)'),
}).strict();
type CostData = z.output<typeof CostCli>['costData'];
type Format = z.output<typeof ScoreCli>['format'];

/** Reads a train or test file as the score model's data: preference pairs, or (cost, --cost-data labels) per-response labels. */
async function readScoreData(kind: ScoreKind, costData: CostData, format: Format, path: string, label: string): Promise<{ data: ScoreData; summary: DataSummary }> {
  if (costData === 'labels') {
    const read = await readLabelFile(path, format, label);
    return { data: { labels: read.labels }, summary: read.summary };
  }
  const read = await readPreferenceFile(path, format, label);
  if (kind === 'cost') needSafetyLabels(read.records, path, read.format);
  return { data: read.records, summary: read.summary };
}

const ABOUT: Record<ScoreKind, string> = {
  reward: 'reward model (helpfulness) on preference pairs: PKU-SafeRLHF (better_response_id), HH-RLHF (chosen/rejected dialogues, split at the last Assistant turn) or {prompt, chosen, rejected} JSONL',
  cost: 'cost model (harm) on PKU-SafeRLHF pairs (safer_response_id + is_response_*_safe), or with --cost-data labels on responses labelled safe/unsafe alone',
};

/** A cost model needs safety labels: says so, naming the file, when none of its records has them. */
function needSafetyLabels(records: readonly PreferenceRecord[], file: string, format: string): void {
  if (records.length > 0 && !records.some(hasSafetyLabels)) {
    throw new ConfigError(`${file}: a cost model needs safety labels (safer_response_id, is_response_N_safe), but this ${format} file has none; give PKU-SafeRLHF data, or {prompt, response, is_safe} JSONL with --cost-data labels`);
  }
}

/** Adds `train reward` and `train cost`. */
export function registerScoreCommands(train: Command): void {
  for (const kind of ['reward', 'cost'] as const satisfies ScoreKind[]) {
    const cmd = train.command(kind).description(ABOUT[kind]).option('--config <file>', 'YAML config');
    const schema: typeof ScoreCli | typeof CostCli = kind === 'cost' ? CostCli : ScoreCli;
    const leaves = addSchemaOptions(cmd, schema);
    cmd.action(async (opts: Record<string, unknown>) => {
      const cfg = resolveConfig(schema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
      // reward commands have no --cost-data: they train on pairs
      const costData: CostData = (cfg as Partial<z.output<typeof CostCli>>).costData ?? 'pairs';
      const loaded = loadPretrained(cfg.model);
      const tokenizer = needTokenizer(loaded, cfg.model);
      const train = await readScoreData(kind, costData, cfg.format, cfg.train, 'train');
      const what = costData === 'labels' ? 'responses' : 'pairs';
      // the new score head is drawn at random: seed it, so the same command gives the same model
      manualSeed(cfg.score.seed);
      const model = loaded.model instanceof CausalLM ? ScoreModel.fromCausalLM(loaded.model, kind) : ScoreModel.fromScoreModel(loaded.model, kind);
      const result = trainScoreModel({ kind, model, tokenizer, train: train.data, config: cfg.score, outDir: cfg.out, progress: terminalProgress(), prompt: { raw: cfg.raw } });
      if (!dataParallel().isMain) return; // rank 0 writes the model, evaluates and reports
      savePretrained(cfg.out, model, { tokenizer, trainingConfig: cfg });
      console.log(`train: ${describeScoreTruncation(result.truncation, what)}`);
      const summary: Record<string, unknown> = {
        steps: result.steps,
        format: train.summary.format,
        ...(kind === 'cost' ? { costData } : {}),
        data: { train: train.summary },
        truncation: { train: result.truncation },
      };
      if (cfg.test) {
        const test = await readScoreData(kind, costData, cfg.format, cfg.test, 'test');
        const ev = evaluateScoreModel(kind, model, tokenizer, test.data, { maxLength: cfg.score.maxLength, prompt: { raw: cfg.raw } });
        summary.test = ev;
        (summary.data as Record<string, DataSummary>).test = test.summary;
        if (ev.truncation) console.log(`test: ${describeScoreTruncation(ev.truncation, what)}`);
        const accuracy = costData === 'labels' ? '' : `test accuracy ${(100 * ev.accuracy).toFixed(1)}%`;
        const sign = ev.signAccuracy !== undefined ? `${accuracy ? ', ' : 'test '}sign accuracy ${(100 * ev.signAccuracy).toFixed(1)}%` : '';
        console.log(`${kind} model: ${accuracy}${sign}`);
        if (kind === 'cost') {
          console.log(`  safe responses: mean ${ev.safeMean.toFixed(3)} (std ${ev.safeStd.toFixed(3)}); unsafe: mean ${ev.unsafeMean.toFixed(3)} (std ${ev.unsafeStd.toFixed(3)})`);
        }
      }
      writeJsonAtomic(join(cfg.out, 'training_result.json'), summary);
      console.log(`model in ${cfg.out}`);
    });
  }
}
