// `safealign world build`: writes the built-in world (prompts, SFT corpus, annotated pairs) and prints its summary.
import { Option, type Command } from 'commander';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { buildImageWorld, buildWorld } from '../world/build.js';
import { ImageWorldConfigSchema, WorldConfigSchema } from '../world/config.js';
import { formatWorldSummary } from '../world/report.js';
import { terminalProgress } from './progress-bar.js';

export function register(program: Command): void {
  const world = program.command('world').description('the built-in world with known truth (gold helpfulness and harm)');
  const build = world
    .command('build')
    .description(
      'write prompts (train/test/red team), the SFT corpus, preference pairs labelled by simulated annotators, raw labels and a summary; ' +
        '--world multimodal: image prompts whose topic only the picture shows (images/*.png), pairs in BeaverTails-V format',
    )
    .option('--out <dir>', 'output folder', 'runs/world')
    .option('--config <file>', 'YAML config with the fields below')
    .addOption(new Option('--world <kind>', "'text': prompts name their topic (PKU-SafeRLHF pairs); 'multimodal': a picture carries it (--images-* options)").choices(['text', 'multimodal']).default('text'));
  const leaves = addSchemaOptions(build, ImageWorldConfigSchema);
  build.action(async (opts: Record<string, unknown>) => {
    const flags = flagsToConfig(leaves, opts);
    const file = opts.config as string | undefined;
    const out = opts.out as string;
    if (opts.world === 'multimodal') {
      const summary = await buildImageWorld(resolveConfig(ImageWorldConfigSchema, { file, flags }), out, terminalProgress());
      process.stdout.write(`${formatWorldSummary(summary, out)}\n`);
      return;
    }
    if (flags.images !== undefined) throw new ConfigError('the --images-* options describe the pictures of --world multimodal; the text world has none');
    const summary = buildWorld(resolveConfig(WorldConfigSchema, { file, flags }), out, terminalProgress());
    process.stdout.write(`${formatWorldSummary(summary, out)}\n`);
  });
}
