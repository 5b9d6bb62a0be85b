// `safealign annotate serve|generate|export`: the annotation server, pairs from checkpoints, and the offline export.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { DeviceSchema, useDevice } from '../config/device.js';
import { ServeConfigSchema } from '../annotate/config.js';
import { openDatabase } from '../annotate/db/open.js';
import { buildExport, toJsonl } from '../annotate/export.js';
import { serve } from '../annotate/serve.js';
import { projectItems, projectLabels } from '../annotate/store/labels.js';
import { getProject } from '../annotate/store/projects.js';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { writeFileAtomic } from '../core/fs-atomic.js';
import { terminalProgress } from './progress-bar.js';

const SERVE_HELP = `
First admin: when the database has no admin account, --admin-user NAME with a password from
--admin-password or (better, as flags show up in process lists) the environment variable
SAFEALIGN_ADMIN_PASSWORD creates one; SAFEALIGN_ADMIN_USER may stand in for --admin-user.
Sign in at the printed URL; the admin creates reviewer and annotator accounts on the page.

Databases: sqlite:PATH (default; one file, WAL) for one machine, or
postgres://USER:PASSWORD@HOST:PORT/DB for many annotators (append ?schema=NAME to use a schema).
Behind a reverse proxy, name it with --security-trust-proxy so that the client address (for the
per-address limits) and https (for Secure cookies) are read from its X-Forwarded-* headers:
  --security-trust-proxy 127.0.0.1            the proxy's address(es) or CIDRs, comma-separated
                                              (also loopback, linklocal, uniquelocal); preferred
  --security-trust-proxy 1                    the number of proxies in front of the server; only
                                              when nothing can reach the server but the proxy
                                              (e.g. --host 127.0.0.1), as a direct client could
                                              otherwise write its own X-Forwarded-For
Trusting every hop is refused: any client could then pick its address.`;

const GenerateConfigSchema = z
  .object({
    modelA: z.string().default('').describe('model folder (causal LM + tokenizer.json) that writes response_0 (required)'),
    modelB: z.string().default('').describe('model folder that writes response_1 (default: a second sample from --model-a)'),
    prompts: z.string().default('').describe('text file with one prompt per line (required)'),
    out: z.string().default('').describe('output JSONL of {prompt, response_0, response_1, response_N_source} to import as a batch (required)'),
    maxNewTokens: z.number().int().min(1).max(1024).default(64).describe('most tokens per response'),
    temperature: z.number().positive().default(1).describe('sampling temperature'),
    topP: z.number().positive().max(1).default(1).describe('nucleus sampling mass (1 = off)'),
    seed: z.number().int().min(0).default(0).describe('sampling seed'),
    device: DeviceSchema,
  })
  .strict();

const ExportConfigSchema = z
  .object({
    db: z.string().default('sqlite:runs/annotate/annotations.sqlite').describe('database: sqlite:PATH or postgres://...'),
    project: z.number().int().positive().default(1).describe('project id'),
    kind: z.enum(['aggregated', 'raw']).default('aggregated').describe('aggregated: majority labels as PKU-SafeRLHF JSONL; raw: one line per annotator label'),
    minLabels: z.number().int().min(0).default(0).describe('pairs need this many labels to be exported (0: the project\'s annotators per pair)'),
    out: z.string().default('').describe('output JSONL file (required)'),
  })
  .strict();

export function register(program: Command): void {
  const annotate = program.command('annotate').description('the annotation app: collect helpfulness and harmlessness preferences from people');

  const serveCmd = annotate
    .command('serve')
    .description('run the annotation server (page at /, JSON API under /api); prints the URL')
    .option('--config <file>', 'YAML config with the fields below')
    .addHelpText('after', SERVE_HELP);
  const serveLeaves = addSchemaOptions(serveCmd, ServeConfigSchema);
  serveCmd.action(async (opts: Record<string, unknown>) => {
    const flags = flagsToConfig(serveLeaves, opts);
    const env = process.env;
    if (flags.adminUser === undefined && env.SAFEALIGN_ADMIN_USER) flags.adminUser = env.SAFEALIGN_ADMIN_USER;
    if (flags.adminPassword === undefined && env.SAFEALIGN_ADMIN_PASSWORD) flags.adminPassword = env.SAFEALIGN_ADMIN_PASSWORD;
    const config = resolveConfig(ServeConfigSchema, { file: opts.config as string | undefined, flags });
    const running = await serve(config);
    process.stdout.write(`safealign annotate: serving ${running.url} (database ${running.db.description})\n`);
    if (running.adminNote) process.stdout.write(`safealign annotate: ${running.adminNote}\n`);
    const stop = (): void => {
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

  const generateCmd = annotate
    .command('generate')
    .description('write pairs to annotate with model checkpoints (response_0 from --model-a, response_1 from --model-b) as JSONL for import')
    .option('--config <file>', 'YAML config with the fields below');
  const generateLeaves = addSchemaOptions(generateCmd, GenerateConfigSchema);
  generateCmd.action(async (opts: Record<string, unknown>) => {
    const config = resolveConfig(GenerateConfigSchema, { file: opts.config as string | undefined, flags: flagsToConfig(generateLeaves, opts) });
    useDevice(config.device);
    for (const field of ['modelA', 'prompts', 'out'] as const) {
      if (!config[field]) throw new ConfigError(`--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: required`);
    }
    let text: string;
    try {
      text = readFileSync(config.prompts, 'utf8');
    } catch (e) {
      throw new ConfigError(`--prompts ${config.prompts}: cannot read (${(e as Error).message})`);
    }
    const prompts = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    if (prompts.length === 0) throw new ConfigError(`--prompts ${config.prompts}: no prompts (expected one per line)`);
    // Loaded on use, so that `annotate serve` does not need the libtorch engine.
    const { generatePairs } = await import('../annotate/generate-pairs.js');
    const progress = terminalProgress();
    progress.start('generating', prompts.length * 2);
    const items = await generatePairs({
      modelA: config.modelA,
      ...(config.modelB ? { modelB: config.modelB } : {}),
      prompts,
      maxNewTokens: config.maxNewTokens,
      temperature: config.temperature,
      topP: config.topP,
      seed: config.seed,
      onProgress: (done) => progress.update(done),
    });
    progress.stop();
    const rows = items.map((it) => ({
      prompt: it.prompt,
      response_0: it.responses[0],
      response_1: it.responses[1],
      response_0_source: it.responseSources?.[0],
      response_1_source: it.responseSources?.[1],
    }));
    writeFileAtomic(config.out, toJsonl(rows));
    process.stdout.write(`safealign annotate: wrote ${rows.length} pairs to ${config.out}\n`);
  });

  const exportCmd = annotate
    .command('export')
    .description("write a project's labels as JSONL: majority-resolved PKU-SafeRLHF (what the training loaders read) or raw per-annotator labels")
    .option('--config <file>', 'YAML config with the fields below');
  const exportLeaves = addSchemaOptions(exportCmd, ExportConfigSchema);
  exportCmd.action(async (opts: Record<string, unknown>) => {
    const config = resolveConfig(ExportConfigSchema, { file: opts.config as string | undefined, flags: flagsToConfig(exportLeaves, opts) });
    if (!config.out) throw new ConfigError('--out: expected the path of the JSONL file to write');
    const db = await openDatabase(config.db);
    try {
      const project = await getProject(db, config.project);
      if (!project) throw new ConfigError(`--project ${config.project}: no such project in ${db.description}`);
      const [items, labels] = await Promise.all([projectItems(db, project.id), projectLabels(db, project.id)]);
      const out = buildExport(items, labels, config.kind, config.minLabels || project.settings.annotatorsPerPair);
      writeFileAtomic(config.out, out.text);
      const left = config.kind === 'aggregated' ? ` (left out: ${out.tied} tied, ${out.incomplete} with too few labels)` : '';
      process.stdout.write(`safealign annotate: wrote ${out.rows} lines to ${config.out}${left}\n`);
    } finally {
      await db.close();
    }
  });
}
