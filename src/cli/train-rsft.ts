// `safealign train rsft`: rejection-sampling fine-tuning of your own policy folder with your reward and cost models.
import { dataParallel } from '../distributed/data-parallel.js';
import type { Command } from 'commander';
import { RsftFoldersSchema, trainRsftOnFolders } from '../algorithms/rsft/folders.js';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { terminalProgress } from './progress-bar.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function registerRsftCommand(train: Command): void {
  const cmd = train
    .command('rsft')
    .description(
      'rejection-sampling fine-tuning: each round samples --rsft-samples-per-prompt K responses per prompt from the policy, keeps the best by Llama 2\'s rule ' +
        '(σ(−cost) on risky prompts and for unsafe responses, else σ(reward)) and fine-tunes on the picks with the SFT trainer, for --rsft-rounds R rounds. ' +
        'Writes the model (HF folder), round_<r>/ (picks.jsonl, round.json, checkpoint/: re-run the same command to resume) and result.json into --out.',
    )
    .option('--config <file>', 'YAML config with any subset of the fields below (flags win over the file)');
  const leaves = addSchemaOptions(cmd, RsftFoldersSchema);
  cmd.action((opts: Record<string, unknown>) => {
    const cfg = resolveConfig(RsftFoldersSchema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    useDevice(cfg.device);
    const result = trainRsftOnFolders(cfg, terminalProgress());
    if (!dataParallel().isMain) return; // rank 0 reports
    const p = result.prompts;
    console.log(`prompts: ${p.read} read from ${p.file} (${p.format}), ${p.unreadable} unreadable lines; ${p.used} used, ${p.flagged} with a risky flag (the others judged by the cost model)`);
    for (const r of result.rounds) {
      console.log(
        `round ${r.round}: ${r.samples} samples (${r.prompts} prompts); mean reward ${r.sampleMeanReward.toFixed(3)} → picks ${r.pickMeanReward.toFixed(3)}; harmful (cost > 0) ${pct(r.sampleHarmfulRate)} → ${pct(r.pickHarmfulRate)}; ${r.dropped} picks dropped; SFT ${r.sft.steps} steps`,
      );
    }
    console.log(`${result.policySamples} policy samples; model in ${result.outDir} (result.json beside it)`);
  });
}
