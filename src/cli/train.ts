// `safealign train sft|reward|cost`: trains from a Hugging Face model folder on JSONL data, writing an HF folder.
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { SftConfigSchema } from '../algorithms/sft/config.js';
import { trainSft } from '../algorithms/sft/train.js';
import { ScoreConfigSchema } from '../algorithms/score/config.js';
import { describeScoreTruncation, evaluateScoreModel, trainScoreModel, type ScoreKind } from '../algorithms/score/train.js';
import { describeTruncation } from '../algorithms/common/truncation.js';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { readPkuSafeRlhf } from '../data/pku-saferlhf.js';
import { readSftExamples } from '../data/sft-examples.js';
import { CausalLM, loadPretrained, savePretrained, ScoreModel, type LoadedModel } from '../models/index.js';
import { manualSeed } from '../torch/index.js';
import { terminalProgress } from './progress-bar.js';
import { registerPreferenceCommands } from './train-preferences.js';
import { registerRlCommands } from './train-rl.js';

const IO = {
  model: z.string().describe('Hugging Face model folder to start from (config.json, model.safetensors, tokenizer.json)'),
  train: z.string().describe('training data (JSONL)'),
  test: z.string().optional().describe('held-out data (JSONL) for evaluation'),
  out: z.string().describe('output folder: the trained model in HF layout, plus checkpoint/ for resuming'),
};

const SftCli = z.object({ ...IO, sft: SftConfigSchema.prefault({}).describe('SFT settings') }).strict();
const ScoreCli = z.object({ ...IO, score: ScoreConfigSchema.prefault({}).describe('score-model settings') }).strict();

function needTokenizer(loaded: LoadedModel, dir: string) {
  if (!loaded.tokenizer) throw new ConfigError(`${dir}: no tokenizer.json; training needs the model's tokenizer beside it`);
  return loaded.tokenizer;
}

export function register(program: Command): void {
  const train = program.command('train').description('train the base policy (SFT), a reward model or a cost model, run PPO-Lagrangian, PPO or reward shaping, or DPO, SafeDPO or SACPO on your own models');
  registerRlCommands(train);
  registerPreferenceCommands(train);

  const sft = train.command('sft').description('supervised fine-tuning on {prompt, response} JSONL').option('--config <file>', 'YAML config');
  const sftLeaves = addSchemaOptions(sft, SftCli);
  sft.action((opts: Record<string, unknown>) => {
    const cfg = resolveConfig(SftCli, { file: opts.config as string | undefined, flags: flagsToConfig(sftLeaves, opts) });
    const loaded = loadPretrained(cfg.model);
    if (!(loaded.model instanceof CausalLM)) throw new ConfigError(`${cfg.model}: SFT needs a causal LM, found a score model`);
    const tokenizer = needTokenizer(loaded, cfg.model);
    const result = trainSft({
      model: loaded.model,
      tokenizer,
      train: readSftExamples(cfg.train),
      test: cfg.test ? readSftExamples(cfg.test) : [],
      config: cfg.sft,
      outDir: cfg.out,
      progress: terminalProgress(),
    });
    savePretrained(cfg.out, loaded.model, { tokenizer, trainingConfig: cfg });
    const { log: _log, ...summary } = result;
    writeJsonAtomic(join(cfg.out, 'training_result.json'), summary);
    console.log(`train: ${describeTruncation(result.truncation.train, 'examples', 'response-start')}`);
    if (cfg.test) console.log(`test: ${describeTruncation(result.truncation.test, 'examples', 'response-start')}`);
    console.log(`SFT: ${result.steps} steps, eval loss ${result.finalEvalLoss.toFixed(4)} (perplexity ${result.finalEvalPerplexity.toFixed(2)}); model in ${cfg.out}`);
  });

  for (const kind of ['reward', 'cost'] as const satisfies ScoreKind[]) {
    const cmd = train
      .command(kind)
      .description(`${kind} model on PKU-SafeRLHF JSONL (${kind === 'reward' ? 'better_response_id' : 'safer_response_id + is_response_*_safe'})`)
      .option('--config <file>', 'YAML config');
    const leaves = addSchemaOptions(cmd, ScoreCli);
    cmd.action(async (opts: Record<string, unknown>) => {
      const cfg = resolveConfig(ScoreCli, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
      const loaded = loadPretrained(cfg.model);
      const tokenizer = needTokenizer(loaded, cfg.model);
      // the new score head is drawn at random: seed it, so the same command gives the same model
      manualSeed(cfg.score.seed);
      const model = loaded.model instanceof CausalLM ? ScoreModel.fromCausalLM(loaded.model, kind) : ScoreModel.fromScoreModel(loaded.model, kind);
      const data = await readPkuSafeRlhf(cfg.train);
      for (const p of data.problems.slice(0, 10)) console.error(`warning: ${p.file}:${p.line}: ${p.message}`);
      const result = trainScoreModel({ kind, model, tokenizer, train: data.records, config: cfg.score, outDir: cfg.out, progress: terminalProgress() });
      savePretrained(cfg.out, model, { tokenizer, trainingConfig: cfg });
      console.log(`train: ${describeScoreTruncation(result.truncation)}`);
      const summary: Record<string, unknown> = { steps: result.steps, truncation: { train: result.truncation } };
      if (cfg.test) {
        const test = await readPkuSafeRlhf(cfg.test);
        for (const p of test.problems.slice(0, 10)) console.error(`warning: ${p.file}:${p.line}: ${p.message}`);
        const ev = evaluateScoreModel(kind, model, tokenizer, test.records, { maxLength: cfg.score.maxLength });
        summary.test = ev;
        if (ev.truncation) console.log(`test: ${describeScoreTruncation(ev.truncation)}`);
        console.log(`${kind} model: test accuracy ${(100 * ev.accuracy).toFixed(1)}%` + (ev.signAccuracy !== undefined ? `, sign accuracy ${(100 * ev.signAccuracy).toFixed(1)}%` : ''));
        console.log(`  safe responses: mean ${ev.safeMean.toFixed(3)} (std ${ev.safeStd.toFixed(3)}); unsafe: mean ${ev.unsafeMean.toFixed(3)} (std ${ev.unsafeStd.toFixed(3)})`);
      }
      writeJsonAtomic(join(cfg.out, 'training_result.json'), summary);
      console.log(`model in ${join(cfg.out)}`);
    });
  }
}
