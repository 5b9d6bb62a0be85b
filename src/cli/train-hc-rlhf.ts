// `safealign train hc-rlhf`: HC-RLHF on your own actor, reward and cost folders; exit status 3 when the safety test finds no solution.
import { dataParallel } from '../distributed/data-parallel.js';
import type { Command } from 'commander';
import { NO_SOLUTION_EXIT_CODE } from '../algorithms/hc-rlhf/config.js';
import { HcRlhfFoldersConfigSchema, trainHcRlhfOnFolders } from '../algorithms/hc-rlhf/folders.js';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { terminalProgress } from './progress-bar.js';

export function registerHcRlhfCommand(train: Command): void {
  const cmd = train
    .command('hc-rlhf')
    .description(
      'HC-RLHF (Chittepu et al. 2025): a high-confidence cost guarantee. The prompts are split into a candidate set and a safety set (--hc-rlhf-safety-fraction); ' +
        'the candidate is trained by RLOO-Lagrangian (or --hc-rlhf-candidate ppo-lag) against the inflated bound c̄ + k·ŝ <= τ (τ = --threshold or --threshold-from); ' +
        'then one response per safety prompt is scored by the cost model and the Student-t test c̄ + t_{1−δ,n−1}·ŝ/√n <= τ decides. ' +
        `Passed: the model is written to --out (exit status 0). Failed: "no solution found", no model in --out, exit status ${NO_SOLUTION_EXIT_CODE}. ` +
        'Always written: <out>/candidate (the candidate), result.json (outcome, the test\'s mean, std, bound, n), log.jsonl, report.html, checkpoint/ (re-run to resume). Errors exit with status 1.',
    )
    .option('--config <file>', 'YAML config with any subset of the fields below (flags win over the file)');
  const leaves = addSchemaOptions(cmd, HcRlhfFoldersConfigSchema);
  cmd.action(async (opts: Record<string, unknown>) => {
    const cfg = resolveConfig(HcRlhfFoldersConfigSchema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    useDevice(cfg.device);
    const r = await trainHcRlhfOnFolders(cfg, terminalProgress());
    if (!dataParallel().isMain) return; // rank 0 reports
    const t = r.test;
    console.log(`hc-rlhf: candidate trained ${r.steps} steps on ${r.split.candidate} prompts (bound c̄ + ${r.inflation.toFixed(4)}·ŝ <= τ = ${r.threshold.value.toFixed(4)})`);
    console.log(`safety test on ${t.n} held-out prompts (δ ${t.delta}): mean cost ${t.mean.toFixed(4)}, std ${t.std.toFixed(4)}, upper bound ${t.upperBound.toFixed(4)} ${t.passed ? '<=' : '>'} τ ${t.tau.toFixed(4)}`);
    if (r.model) {
      console.log(`passed: model in ${r.model} (result.json, log.jsonl, report.html beside it)`);
    } else {
      console.log(`no solution found: no model returned (the candidate is in ${r.candidate}, for inspection only); exit status ${NO_SOLUTION_EXIT_CODE}`);
      process.exitCode = NO_SOLUTION_EXIT_CODE;
    }
  });
}
