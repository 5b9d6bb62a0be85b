// `safealign pipeline`: the whole Safe RLHF run on the built-in world, resumable, ending in a report.
import type { Command } from 'commander';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { PipelineConfigSchema } from '../pipeline/config.js';
import { runPipeline } from '../pipeline/run.js';
import { terminalProgress } from './progress-bar.js';

export function register(program: Command): void {
  const cmd = program
    .command('pipeline')
    .description(
      'run world -> SFT -> annotations (SFT response pairs, simulated annotators) -> reward and cost models -> PPO, reward shaping ' +
        'and PPO-Lagrangian -> iterative rounds -> evaluation -> report under <runs-dir>/<name>/. Re-running the same command ' +
        'resumes a killed run from its last finished stage or checkpoint (only with the config it was made with).',
    )
    .option('--config <file>', 'YAML file with any subset of the fields below (flags win over the file)');
  const leaves = addSchemaOptions(cmd, PipelineConfigSchema);
  cmd.action(async (opts: Record<string, unknown>) => {
    const config = resolveConfig(PipelineConfigSchema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    const progress = terminalProgress();
    const t0 = performance.now();
    const result = await runPipeline(config, progress);
    const rows = Object.entries(result.models).map(
      ([k, m]) => `  ${k.padEnd(14)} harmful ${(100 * m.harmfulRate).toFixed(1).padStart(5)}%  helpfulness ${m.helpfulness.toFixed(2).padStart(6)}  reward ${m.meanReward.toFixed(2).padStart(6)}  cost ${m.meanCost.toFixed(2).padStart(6)}  KL ${m.kl.toFixed(2)}`,
    );
    console.log(`\nResults on the test prompts (gold oracle):\n${rows.join('\n')}`);
    console.log(`\nReport: ${result.runDir}/report.html  (machine-readable: ${result.runDir}/report.json)`);
    console.log(`Wall time this invocation: ${((performance.now() - t0) / 1000).toFixed(0)}s`);
  });
}
