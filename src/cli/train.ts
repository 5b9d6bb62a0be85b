// `safealign train`: SFT here; reward and cost (train-score.ts) and the RL methods (train-rl.ts) add themselves.
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { SftConfigSchema } from '../algorithms/sft/config.js';
import { trainSft } from '../algorithms/sft/train.js';
import { describeTruncation } from '../algorithms/common/truncation.js';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { dataParallel } from '../distributed/data-parallel.js';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { CausalLM, loadPretrained, savePretrained } from '../models/index.js';
import { terminalProgress } from './progress-bar.js';
import { registerHcRlhfCommand } from './train-hc-rlhf.js';
import { registerMicroCommand } from './train-micro.js';
import { registerPreferenceCommands } from './train-preferences.js';
import { registerRlCommands } from './train-rl.js';
import { registerRsftCommand } from './train-rsft.js';
import { registerScoreCommands } from './train-score.js';
import { needTokenizer, readSftFile, TRAIN_IO } from './train-io.js';

const SftCli = z.object({ ...TRAIN_IO, sft: SftConfigSchema.prefault({}).describe('SFT settings') }).strict();

export function register(program: Command): void {
  const train = program.command('train').description('train the base policy (SFT), a reward model or a cost model, or run PPO-Lagrangian, PPO, reward shaping, GRPO, safe GRPO, RLOO-Lagrangian, HC-RLHF, DPO, SafeDPO, SACPO, MoCAN, A-LoL, rejection-sampling fine-tuning or MiCRo reward heads on your own models');
  registerRlCommands(train);
  registerPreferenceCommands(train);
  registerRsftCommand(train);
  registerHcRlhfCommand(train);

  const sft = train
    .command('sft')
    .description('supervised fine-tuning on {prompt, response} JSONL, or on the safe responses of PKU-SafeRLHF (the more helpful one when both are safe; records with none are skipped and counted)')
    .option('--config <file>', 'YAML config');
  const sftLeaves = addSchemaOptions(sft, SftCli);
  sft.action(async (opts: Record<string, unknown>) => {
    const cfg = resolveConfig(SftCli, { file: opts.config as string | undefined, flags: flagsToConfig(sftLeaves, opts) });
    useDevice(cfg.device);
    const loaded = loadPretrained(cfg.model);
    if (!(loaded.model instanceof CausalLM)) throw new ConfigError(`${cfg.model}: SFT needs a causal LM, found a score model`);
    const tokenizer = needTokenizer(loaded, cfg.model);
    const trainData = await readSftFile(cfg.train, 'train');
    const testData = cfg.test ? await readSftFile(cfg.test, 'test') : undefined;
    const result = trainSft({
      model: loaded.model,
      tokenizer,
      train: trainData.examples,
      test: testData?.examples ?? [],
      config: cfg.sft,
      outDir: cfg.out,
      progress: terminalProgress(),
      prompt: { raw: cfg.raw },
    });
    if (!dataParallel().isMain) return; // rank 0 writes the model and reports
    savePretrained(cfg.out, loaded.model, { tokenizer, trainingConfig: cfg });
    const { log: _log, ...summary } = result;
    writeJsonAtomic(join(cfg.out, 'training_result.json'), { ...summary, data: { train: trainData.summary, ...(testData ? { test: testData.summary } : {}) } });
    console.log(`train: ${describeTruncation(result.truncation.train, 'examples', 'response-start')}`);
    if (cfg.test) console.log(`test: ${describeTruncation(result.truncation.test, 'examples', 'response-start')}`);
    console.log(`SFT: ${result.steps} steps, eval loss ${result.finalEvalLoss.toFixed(4)} (perplexity ${result.finalEvalPerplexity.toFixed(2)}); model in ${cfg.out}`);
  });

  registerScoreCommands(train);
  registerMicroCommand(train);
}
