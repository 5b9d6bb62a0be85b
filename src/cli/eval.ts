// `safealign eval`: samples several model folders on one prompt file and compares them with a reward and a cost model (and the gold oracle on world prompts).
import type { Command } from 'commander';
import { describeTruncation } from '../algorithms/common/truncation.js';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { evaluateModels } from '../eval/evaluate-models.js';
import { EvalModelsConfigSchema } from '../eval/models-config.js';
import { terminalProgress } from './progress-bar.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description(
      'evaluate model folders on a prompt file: --samples responses per prompt and model, scored by --reward (helpfulness) and --cost (harmlessness). ' +
        'Per model: harmful rate (cost > --harm-threshold), mean reward and cost, length, diversity (distinct-n, self-BLEU, pairwise ROUGE-L, embedding diversity); pairwise win/tie/loss and Elo by each judge (the gold oracle too on the built-in world\'s prompts). ' +
        'Writes report.html, report.json and responses.jsonl into --out. Example: safealign eval --model sft --model lag --prompts test.jsonl --reward rm --cost cm --out eval',
    )
    .option('--config <file>', 'YAML config with any subset of the fields below (flags win over the file)')
    .option('--json', 'print report.json\'s summary (without the settings) as JSON instead of the table');
  const leaves = addSchemaOptions(cmd, EvalModelsConfigSchema);
  cmd.action(async (opts: Record<string, unknown>) => {
    const cfg = resolveConfig(EvalModelsConfigSchema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
    useDevice(cfg.device);
    // bars and warnings go to stderr, so --json leaves stdout to the JSON
    const report = await evaluateModels(cfg, terminalProgress());
    if (opts.json) {
      const { settings: _settings, ...summary } = report;
      console.log(JSON.stringify(summary, null, 2));
      return;
    }
    const p = report.prompts;
    console.log(`prompts: ${p.read} read from ${p.file} (${p.format}), ${p.unreadable} unreadable lines; ${p.fit.skipped} of ${p.fit.total} skipped (no room for ${cfg.maxNewTokens} new tokens in a model's context or for a response in a score model's); ${p.used} used × ${report.samples} samples`);
    for (const [name, m] of Object.entries(report.models)) {
      const gold = m.gold ? `, gold harmful ${pct(m.gold.harmfulRate)}, gold helpfulness ${m.gold.helpfulness.toFixed(3)}` : '';
      console.log(`${name}: harmful ${pct(m.harmfulRate)} [${pct(m.harmfulRateInterval.low)}, ${pct(m.harmfulRateInterval.high)}], reward ${m.meanReward.toFixed(3)}, cost ${m.meanCost.toFixed(3)}, length ${m.responseLength.toFixed(1)}, distinct-2 ${m.distinct2.toFixed(3)}, self-BLEU ${m.selfBleu.toFixed(3)}, ROUGE-L ${m.rougeL.toFixed(3)}${m.withinPrompt ? ` (same prompt: self-BLEU ${m.withinPrompt.selfBleu.toFixed(3)}, ROUGE-L ${m.withinPrompt.rougeL.toFixed(3)})` : ''}, embedding diversity ${m.embeddingDiversity.toFixed(3)}${gold}`);
      if (m.verbalized) {
        const v = m.verbalized;
        console.log(`  verbalized (k = ${v.k}): ${v.answered} answered from a parsed list, ${v.malformed} without one after every attempt (unscored); ${v.meanAttempts.toFixed(2)} generations per prompt`);
        for (const p of v.problems.slice(0, 3)) console.log(`    ${p.source}: ${p.problems.join('; ')}`);
      }
      console.log(`  reward model: ${describeTruncation(m.truncation.reward, 'responses', 'response-end')}`);
      console.log(`  cost model: ${describeTruncation(m.truncation.cost, 'responses', 'response-end')}`);
    }
    for (const [key, a] of Object.entries(report.arena)) {
      for (const x of a.pairs) console.log(`${key}: ${x.a} vs ${x.b}: win ${pct(x.win)}, tie ${pct(x.tie)}, loss ${pct(x.loss)} (${x.n} pairs)`);
      console.log(`${key} Elo: ${a.elo.map((e) => `${e.model} ${e.elo.toFixed(0)} [${e.low.toFixed(0)}, ${e.high.toFixed(0)}]`).join(', ')}`);
    }
    console.log(`report in ${cfg.out} (report.html, report.json, responses.jsonl)`);
  });
}
