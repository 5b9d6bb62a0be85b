// `safealign best-of-n`: samples a policy N times per prompt and picks by Llama 2's safety-aware rule, for several N.
import type { Command } from 'commander';
import { describeTruncation } from '../algorithms/common/truncation.js';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { bestOfNEvaluation } from '../eval/best-of-n.js';
import { BestOfNConfigSchema } from '../eval/best-of-n-config.js';
import { terminalProgress } from './progress-bar.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function register(program: Command): void {
  const cmd = program
    .command('best-of-n')
    .description(
      'best-of-N at inference: samples max(--n) responses per prompt from --model, scores them with --reward and --cost, and for each N picks among the first N by Llama 2\'s rule ' +
        '(safety score σ(−cost) on risky prompts and for unsafe responses, else helpfulness σ(reward)). Per N: harmful rate, helpfulness (mean reward of the picks), median and max reward of the N samples, KL bound; ' +
        'gold harm and helpfulness on the built-in world\'s prompts. Writes report.html, report.json and samples.jsonl into --out. ' +
        'Example: safealign best-of-n --model sft --reward rm --cost cm --prompts prompts.jsonl --n 1,2,4,8,16 --out bon',
    )
    .option('--config <file>', 'YAML config with any subset of the fields below (flags win over the file)')
    .option('--json', 'print report.json (without the settings) as JSON instead of the table');
  const leaves = addSchemaOptions(cmd, BestOfNConfigSchema);
  cmd.action(async (opts: Record<string, unknown>) => {
    const cfg = resolveConfig(BestOfNConfigSchema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    useDevice(cfg.device);
    const report = await bestOfNEvaluation(cfg, terminalProgress());
    if (opts.json) {
      const { settings: _settings, ...summary } = report;
      console.log(JSON.stringify(summary, null, 2));
      return;
    }
    const p = report.prompts;
    console.log(`prompts: ${p.read} read from ${p.file} (${p.format}), ${p.unreadable} unreadable lines; ${p.fit.skipped} of ${p.fit.total} skipped (no room for ${cfg.maxNewTokens} new tokens); ${p.used} used, ${p.flagged} with a risky flag (${p.riskyFlagged} risky), the others judged by the cost model`);
    console.log(`reward model: ${describeTruncation(report.truncation.reward, 'responses', 'response-end')}`);
    console.log(`cost model: ${describeTruncation(report.truncation.cost, 'responses', 'response-end')}`);
    for (const r of report.rows) {
      const gold = r.gold ? `, gold harmful ${pct(r.gold.harmfulRate)}, gold helpfulness ${r.gold.helpfulness.toFixed(3)}` : '';
      console.log(`N=${r.n}: harmful ${pct(r.harmfulRate)} [${pct(r.harmfulRateInterval.low)}, ${pct(r.harmfulRateInterval.high)}], helpfulness ${r.meanReward.toFixed(3)}, cost ${r.meanCost.toFixed(3)}, median reward ${r.medianReward.toFixed(3)}, max reward ${r.maxReward.toFixed(3)}, KL bound ${r.klBound.toFixed(3)}${gold}`);
    }
    console.log(`report in ${cfg.out} (report.html, report.json, samples.jsonl)`);
  });
}
