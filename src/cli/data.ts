// `safealign data inspect FILE`: summarises a preference file's labels and problems.
import type { Command } from 'commander';
import { z } from 'zod';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { formatInspectReport, inspectPreferences } from '../data/inspect.js';

export const InspectConfigSchema = z
  .object({
    format: z
      .enum(['auto', 'pku', 'hh', 'pairs'])
      .default('auto')
      .describe('file format: PKU-SafeRLHF, HH-RLHF chosen/rejected dialogues, {prompt, chosen, rejected} pairs, or detect'),
    json: z.boolean().default(false).describe('print the full report (every problem) as JSON'),
    maxProblems: z.number().int().min(0).default(20).describe('problems listed in the text report'),
  })
  .strict();

export function register(program: Command): void {
  const data = program.command('data').description('preference data: inspect files');
  const inspect = data
    .command('inspect')
    .description('counts, label agreement (better == safer), safe/unsafe pair types, category and severity histograms, problems with line numbers')
    .argument('<file>', 'JSONL preference file')
    .option('--config <file>', 'YAML config with the fields below');
  const leaves = addSchemaOptions(inspect, InspectConfigSchema);
  inspect.action(async (file: string, opts: Record<string, unknown>) => {
    const config = resolveConfig(InspectConfigSchema, {
      file: opts.config as string | undefined,
      flags: flagsToConfig(leaves, opts),
    });
    const report = await inspectPreferences(file, { format: config.format });
    process.stdout.write(
      config.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInspectReport(report, config.maxProblems)}\n`,
    );
  });
}
