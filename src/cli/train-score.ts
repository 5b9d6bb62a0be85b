// `safealign train reward|cost`: a score model from preference data of any supported format (PKU-SafeRLHF, HH-RLHF, {prompt, chosen, rejected}).
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { ScoreConfigSchema } from '../algorithms/score/config.js';
import { describeScoreTruncation, evaluateScoreModel, trainScoreModel, type ScoreKind } from '../algorithms/score/train.js';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { hasSafetyLabels, type PreferenceRecord } from '../data/record.js';
import { CausalLM, loadPretrained, savePretrained, ScoreModel } from '../models/index.js';
import { manualSeed } from '../torch/index.js';
import { terminalProgress } from './progress-bar.js';
import { needTokenizer, PREFERENCE_FORMAT, readPreferenceFile, TRAIN_IO } from './train-io.js';

const ScoreCli = z.object({ ...TRAIN_IO, format: PREFERENCE_FORMAT, score: ScoreConfigSchema.prefault({}).describe('score-model settings') }).strict();

const ABOUT: Record<ScoreKind, string> = {
  reward: 'reward model (helpfulness) on preference pairs: PKU-SafeRLHF (better_response_id), HH-RLHF (chosen/rejected dialogues, split at the last Assistant turn) or {prompt, chosen, rejected} JSONL',
  cost: 'cost model (harm) on PKU-SafeRLHF pairs (safer_response_id + is_response_*_safe)',
};

/** A cost model needs safety labels: says so, naming the file, when none of its records has them. */
function needSafetyLabels(records: readonly PreferenceRecord[], file: string, format: string): void {
  if (records.length > 0 && !records.some(hasSafetyLabels)) {
    throw new ConfigError(`${file}: a cost model needs safety labels (safer_response_id, is_response_N_safe), but this ${format} file has none; give PKU-SafeRLHF data`);
  }
}

/** Adds `train reward` and `train cost`. */
export function registerScoreCommands(train: Command): void {
  for (const kind of ['reward', 'cost'] as const satisfies ScoreKind[]) {
    const cmd = train.command(kind).description(ABOUT[kind]).option('--config <file>', 'YAML config');
    const leaves = addSchemaOptions(cmd, ScoreCli);
    cmd.action(async (opts: Record<string, unknown>) => {
      const cfg = resolveConfig(ScoreCli, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
      const loaded = loadPretrained(cfg.model);
      const tokenizer = needTokenizer(loaded, cfg.model);
      const data = await readPreferenceFile(cfg.train, cfg.format, 'train');
      if (kind === 'cost') needSafetyLabels(data.records, cfg.train, data.format);
      // the new score head is drawn at random: seed it, so the same command gives the same model
      manualSeed(cfg.score.seed);
      const model = loaded.model instanceof CausalLM ? ScoreModel.fromCausalLM(loaded.model, kind) : ScoreModel.fromScoreModel(loaded.model, kind);
      const result = trainScoreModel({ kind, model, tokenizer, train: data.records, config: cfg.score, outDir: cfg.out, progress: terminalProgress() });
      savePretrained(cfg.out, model, { tokenizer, trainingConfig: cfg });
      console.log(`train: ${describeScoreTruncation(result.truncation)}`);
      const summary: Record<string, unknown> = { steps: result.steps, format: data.format, truncation: { train: result.truncation } };
      if (cfg.test) {
        const test = await readPreferenceFile(cfg.test, cfg.format, 'test');
        if (kind === 'cost') needSafetyLabels(test.records, cfg.test, test.format);
        const ev = evaluateScoreModel(kind, model, tokenizer, test.records, { maxLength: cfg.score.maxLength });
        summary.test = ev;
        if (ev.truncation) console.log(`test: ${describeScoreTruncation(ev.truncation)}`);
        console.log(`${kind} model: test accuracy ${(100 * ev.accuracy).toFixed(1)}%` + (ev.signAccuracy !== undefined ? `, sign accuracy ${(100 * ev.signAccuracy).toFixed(1)}%` : ''));
        if (kind === 'cost') {
          console.log(`  safe responses: mean ${ev.safeMean.toFixed(3)} (std ${ev.safeStd.toFixed(3)}); unsafe: mean ${ev.unsafeMean.toFixed(3)} (std ${ev.unsafeStd.toFixed(3)})`);
        }
      }
      writeJsonAtomic(join(cfg.out, 'training_result.json'), summary);
      console.log(`model in ${cfg.out}`);
    });
  }
}
