// `safealign world build`: writes the built-in world (prompts, SFT corpus, annotated pairs) and prints its summary.
import type { Command } from 'commander';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { buildWorld } from '../world/build.js';
import { WorldConfigSchema } from '../world/config.js';
import { formatWorldSummary } from '../world/report.js';
import { terminalProgress } from './progress-bar.js';

export function register(program: Command): void {
  const world = program.command('world').description('the built-in world with known truth (gold helpfulness and harm)');
  const build = world
    .command('build')
    .description('write prompts (train/test/red team), the SFT corpus, PKU-SafeRLHF preference pairs labelled by simulated annotators, raw labels and a summary')
    .option('--out <dir>', 'output folder', 'runs/world')
    .option('--config <file>', 'YAML config with the fields below');
  const leaves = addSchemaOptions(build, WorldConfigSchema);
  build.action((opts: Record<string, unknown>) => {
    const config = resolveConfig(WorldConfigSchema, {
      file: opts.config as string | undefined,
      flags: flagsToConfig(leaves, opts),
    });
    const out = opts.out as string;
    const summary = buildWorld(config, out, terminalProgress());
    process.stdout.write(`${formatWorldSummary(summary, out)}\n`);
  });
}
