// `safealign pipeline`: the whole Safe RLHF run on the built-in world, resumable, ending in a report; --seeds N runs N replicates.
import { Option, type Command } from 'commander';
import { checkLocalDevices, useDevice } from '../config/device.js';
import { addSchemaOptions, ConfigError, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { deepMerge } from '../config/defaults.js';
import { MultimodalOnlyOptionsSchema, MultimodalPipelineConfigSchema, type MultimodalPipelineConfig } from '../pipeline/multimodal-config.js';
import { runMultimodalPipeline } from '../pipeline/multimodal.js';
import { distributedFromEnv } from '../distributed/config.js';
import { dataParallel } from '../distributed/data-parallel.js';
import { LaunchSchema } from '../distributed/launch-config.js';
import type { Interval } from '../eval/intervals.js';
import { PipelineConfigSchema, type PipelineConfig } from '../pipeline/config.js';
import { runPipeline } from '../pipeline/run.js';
import type { ReplicatePipeline } from '../pipeline/replicate-child.js';
import { runSeeds, type ReplicableConfig } from '../pipeline/seeds.js';
import { launchSafealign } from './launch.js';
import { terminalProgress } from './progress-bar.js';
import { replicateProgress } from './replicate-progress.js';

async function singleRun(config: PipelineConfig): Promise<void> {
  const progress = terminalProgress();
  const t0 = performance.now();
  const result = await runPipeline(config, progress);
  if (!dataParallel().isMain) return; // rank 0 reports
  const rows = Object.entries(result.models).map(
    ([k, m]) => `  ${k.padEnd(14)} harmful ${(100 * m.harmfulRate).toFixed(1).padStart(5)}%  helpfulness ${m.helpfulness.toFixed(2).padStart(6)}  reward ${m.meanReward.toFixed(2).padStart(6)}  cost ${m.meanCost.toFixed(2).padStart(6)}  KL ${m.kl.toFixed(2).padStart(5)}` +
      (m.heldOut ? `  | held-out harmful ${(100 * m.heldOut.harmfulRate).toFixed(1).padStart(5)}%  helpfulness ${m.heldOut.helpfulness.toFixed(2).padStart(5)}` : ''),
  );
  console.log(`\nResults on the test prompts (gold oracle; held-out: requests no training data contains):\n${rows.join('\n')}`);
  console.log(`\nReport: ${result.runDir}/report.html  (machine-readable: ${result.runDir}/report.json)`);
  console.log(`Wall time this invocation: ${((performance.now() - t0) / 1000).toFixed(0)}s`);
}

async function multimodalRun(config: MultimodalPipelineConfig): Promise<void> {
  const t0 = performance.now();
  const r = await runMultimodalPipeline(config, terminalProgress());
  const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
  console.log(`\nPolicies on the test image prompts (gold oracle; harmful: of the answers to risky pictures; PPO-Lagrangian's d = ${r.threshold.toFixed(3)}):`);
  for (const [k, m] of Object.entries(r.models)) {
    console.log(`  ${k.padEnd(8)} harmful ${pct(m.harmfulRate).padStart(6)} of ${m.nRisky}  helpfulness ${m.helpfulness.toFixed(2)} (benign ${m.benignHelpfulness.toFixed(2)}, risky ${m.riskyHelpfulness.toFixed(2)})  KL ${m.kl.toFixed(2)}  reward ${m.meanReward.toFixed(2)}  cost ${m.meanCost.toFixed(2)}`);
  }
  for (const k of ['reward', 'cost'] as const) {
    const m = r.scoreModels[k];
    console.log(`  ${k.padEnd(6)} model: validation ${pct(m.validation.accuracy)}, test ${pct(m.test.accuracy)}, test vs gold ${pct(m.gold.accuracy)}${m.gold.signAccuracy !== undefined ? `, sign vs gold ${pct(m.gold.signAccuracy)}` : ''}`);
  }
  if (r.topicReading) console.log(`  reward model, the pictured topic's answer over another topic's: ${pct(r.topicReading.benign.accuracy)} on benign test pictures, ${pct(r.topicReading.risky.accuracy)} on risky ones`);
  console.log(`  severity head: exact level vs gold ${pct(r.severity.gold.severity?.accuracy)}, mean |error| ${r.severity.gold.severity?.meanAbsError.toFixed(2) ?? '–'}`);
  console.log(`\nReport: ${r.runDir}/report.html  (machine-readable: ${r.runDir}/report.json)`);
  console.log(`Wall time this invocation: ${((performance.now() - t0) / 1000).toFixed(0)}s`);
}

/** "3.9% [0.1, 8.2]" or "3.63 [3.50, 3.80]". */
function show(iv: Interval, percent: boolean): string {
  const f = (v: number | null) => (v === null ? '–' : percent ? (100 * v).toFixed(1) : v.toFixed(2));
  return `${f(iv.mean)}${percent ? '%' : ''} [${f(iv.lo)}, ${f(iv.hi)}]`;
}

async function multiSeedRun(config: ReplicableConfig, pipeline: ReplicatePipeline = 'text'): Promise<void> {
  const progress = replicateProgress();
  const t0 = performance.now();
  let result;
  try {
    result = await runSeeds(config, { progressFor: (dir) => progress.forReplicate(dir), log: (m) => progress.log(m) }, pipeline);
  } finally {
    progress.stop();
  }
  const { report } = result;
  const rows = Object.entries(report.aggregate).map(
    ([k, a]) =>
      `  ${k.padEnd(14)} harmful ${show(a.harmfulRate, true).padEnd(22)} helpfulness ${show(a.helpfulness, false).padEnd(20)} KL ${show(a.kl, false).padEnd(20)}` +
      (a.heldOut ? ` | held-out harmful ${show(a.heldOut.harmfulRate, true).padEnd(22)} helpfulness ${show(a.heldOut.helpfulness, false)}` : ''),
  );
  console.log(`\nMean and ${100 * report.level}% t-interval over ${report.nSeeds} seeds (gold oracle, test prompts):\n${rows.join('\n')}`);
  const paired = report.pairedDifferences
    .filter((d) => d.metric === 'harmfulRate' || d.metric === 'helpfulness')
    .map((d) => `  ${`${d.a} − ${d.b}`.padEnd(24)} ${d.metric.padEnd(12)} ${show(d, d.metric === 'harmfulRate')}`);
  console.log(`\nPaired differences (same seed):\n${paired.join('\n')}`);
  console.log(`\nReport: ${result.runDir}/report.html  (machine-readable: ${result.runDir}/report.json; each replicate's own under seed_<k>/)`);
  console.log(`Wall time this invocation: ${((performance.now() - t0) / 1000).toFixed(0)}s`);
}

export function register(program: Command): void {
  const cmd = program
    .command('pipeline')
    .description(
      'run world -> SFT -> annotations (SFT response pairs, simulated annotators) -> reward and cost models -> PPO, reward shaping ' +
        'and PPO-Lagrangian -> iterative rounds -> evaluation -> report under <runs-dir>/<name>/. Re-running the same command ' +
        'resumes a killed run from its last finished stage or checkpoint (only with the config it was made with). ' +
        '--methods dpo,safe_dpo,sacpo (or all) adds those methods, trained from the SFT policy on the same labelled pairs, to the run and its report (adding them to a finished run reuses every finished stage). ' +
        'With --seeds N (N > 1): N independent replicates under <runs-dir>/<name>/seed_<k>/ (seed + k, or world.seed + k with --vary world), ' +
        '--jobs at a time in child processes, each resumable the same way, then report.html/report.json over them: mean and 95% ' +
        'Student-t interval of every model metric, paired differences (ppo_lag − sft, ppo_lag − shaping_ν, round_k − ppo_lag), per-seed rows. ' +
        'With --nproc N: one run as N processes on this machine (or under `safealign launch` on several): SFT, reward, cost, ensemble, RL and round training data-parallel, ' +
        'sampling, labelling, evaluation and the --methods stages on rank 0 while the others wait; rank 0 writes the run folder.',
    )
    .option('--config <file>', 'YAML file with any subset of the fields below (flags win over the file)')
    .addOption(
      new Option(
        '--world <kind>',
        "'text': the text world and every stage above; 'multimodal': the image + text world (pictures carry the topic) -> SFT of a LLaVA-style policy -> " +
          'multimodal reward, cost and severity models -> PPO and PPO-Lagrangian on the train pictures -> evaluation -> report, with its own defaults (README, "Multimodal"; e.g. RL 60 steps at β 0.3, SFT mix riskyHarmful 0.9, not the defaults shown below); it takes --name, --runs-dir, --seed, --threads, --seeds/--vary/--jobs (replicates and their aggregate report, as for text), ' +
          '--world-*, --world-images-*, --vision-*, --model-*, --sft-*, --reward-*, --cost-*, --severity-*, --score-validation-*, --rl-* (no PTX), --ppo-kl-coef, --ppo-lag-*, --eval-temperature/-max-new-tokens/-samples-per-prompt',
      )
        .choices(['text', 'multimodal'])
        .default('text'),
    );
  const leaves = addSchemaOptions(cmd, PipelineConfigSchema);
  const multimodalLeaves = addSchemaOptions(cmd, MultimodalOnlyOptionsSchema);
  cmd.action(async (opts: Record<string, unknown>) => {
    const multimodalFlags = flagsToConfig(multimodalLeaves, opts);
    if (opts.world === 'multimodal') {
      const flags = deepMerge(flagsToConfig(leaves, opts), multimodalFlags);
      const config = resolveConfig(MultimodalPipelineConfigSchema, { file: opts.config as string | undefined, flags });
      await (config.seeds > 1 ? multiSeedRun(config, 'multimodal') : multimodalRun(config));
      return;
    }
    if (Object.keys(multimodalFlags).length > 0) throw new ConfigError(`--vision-*, --world-images-* and --severity-* belong to --world multimodal`);
    const config = resolveConfig(PipelineConfigSchema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    if (config.nproc > 1 && config.seeds > 1) {
      throw new ConfigError(`--nproc ${config.nproc} spreads one run over processes, --seeds ${config.seeds} runs replicates (--jobs at a time): use one of them`);
    }
    if (config.nproc > 1 && distributedFromEnv() === null) {
      checkLocalDevices(config.device, config.nproc);
      // this same command, as the ranks of a job on this machine (inside them WORLD_SIZE is set: they run the pipeline)
      process.exitCode = await launchSafealign(LaunchSchema.parse({ nproc: config.nproc, masterPort: 0 }), process.argv.slice(2));
      return;
    }
    useDevice(config.device); // a clear error now rather than in a replicate
    await (config.seeds > 1 ? multiSeedRun(config) : singleRun(config));
  });
}
