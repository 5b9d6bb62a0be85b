// `safealign train dpo|safe-dpo|sacpo|mocan|alol`: preference optimisation on your own model folder and preference pairs.
import { dataParallel } from '../distributed/data-parallel.js';
import type { Command } from 'commander';
import { describeTruncation } from '../algorithms/common/truncation.js';
import { PREFERENCE_FOLDER_METHODS, PREFERENCE_FOLDER_SCHEMAS, trainPreferencesOnFolders, type PreferenceFolderMethod } from '../algorithms/dpo/folders.js';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { terminalProgress } from './progress-bar.js';

const ABOUT: Record<PreferenceFolderMethod, string> = {
  dpo: 'DPO on the helpfulness pairs (better vs worse response); --dpo-variant ipo or robust for IPO / robust DPO',
  'safe-dpo': 'SafeDPO: helpfulness pairs reordered so that a safe response beats an unsafe one, with a margin Δ (--safe-dpo-delta); needs PKU-SafeRLHF safety labels',
  sacpo: 'SACPO: DPO on helpfulness, then DPO on the safety pairs (safer vs unsafer) from that model with β/λ; --sacpo-merge q also writes P-SACPO, the weight merge, to <out>/merged',
  mocan:
    'MoCAN (one-shot dualisation): λ* from the convex dual on --mocan-samples-per-prompt responses of the reference policy to each prompt, scored by --reward and --cost, for the budget d ' +
    '(--threshold or --threshold-from, as ppo-lag); then DPO on the --train pairs relabelled so that the response with the higher r − λ*·c is chosen (λ* and the samples cached in <out>/dual.json; --mocan-lambda fixes λ instead)',
  alol:
    'A-LoL (Baheti et al. 2023): offline advantage-weighted NLL on both responses of every --train pair, A = R − V with R from --reward (minus --alol-cost-weight ν times --cost) and V a value head on the reference policy fitted to the rewards of its own samples; ' +
    'only A > 0 is trained on, batches drawn ∝ A; --alol-variant alol|seq|ref-free|kl (R, V cached in <out>/advantages.json)',
};
const OFFLINE = 'No reward model and no sampling: the reference log-probs are computed once. ';

/** Adds one subcommand per preference method under `train`. */
export function registerPreferenceCommands(train: Command): void {
  for (const name of PREFERENCE_FOLDER_METHODS) {
    const schema = PREFERENCE_FOLDER_SCHEMAS[name];
    const cmd = train
      .command(name)
      .description(
        `${ABOUT[name]}. ${name === 'mocan' || name === 'alol' ? '' : OFFLINE}Writes the model (HF folder), checkpoint/ (re-run the same command to resume), ` +
          'log.jsonl (loss, implicit chosen/rejected rewards, margin, accuracy per step) and result.json into --out. Responses longer than the context are cut at their end; pairs whose prompt leaves no room are skipped and counted.',
      )
      .option('--config <file>', 'YAML config with any subset of the fields below (flags win over the file)');
    const leaves = addSchemaOptions(cmd, schema);
    cmd.action(async (opts: Record<string, unknown>) => {
      const cfg = resolveConfig(schema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
      useDevice(cfg.device);
      const result = await trainPreferencesOnFolders(name, cfg as never, terminalProgress());
      if (!dataParallel().isMain) return; // rank 0 reports
      const d = result.data;
      console.log(`data: ${d.records} pairs read from ${d.file} (${d.format}), ${d.unreadable} unreadable lines, ${d.withSafetyLabels} with safety labels`);
      const m = result.mocan;
      if (m) {
        console.log(`mocan: budget d = ${m.threshold.value.toFixed(4)}; ${m.dual.fixed ? `λ = ${m.dual.lambda} (fixed)` : `λ* = ${m.dual.lambda.toFixed(4)} from ${m.dual.samples} samples on ${m.dual.prompts} prompts (π_ref mean cost ${m.dual.meanCost.toFixed(3)}, predicted after alignment ${m.dual.tiltedCost.toFixed(3)})${m.dual.infeasible ? ' INFEASIBLE: no mix of the samples meets d' : ''}`}`);
        console.log(`mocan: ${m.relabel.pairs} pairs relabelled by r − λ·c, ${m.relabel.flipped} against the helpfulness label, ${m.relabel.unscored} unreadable by the score models`);
      }
      const a = result.alol;
      if (a) {
        console.log(`alol: V fitted on ${a.value.samples} samples of the reference policy on ${a.value.prompts} prompts (mean reward ${a.value.meanReward.toFixed(3)}, MSE ${a.value.mse.toFixed(4)})`);
        console.log(`alol: ${a.advantages.positive} of ${a.advantages.items} responses with A = R − V > 0 (mean ${a.advantages.meanPositive.toFixed(3)}), ${a.advantages.unscored} unreadable by the score models`);
      }
      for (const [stage, s] of Object.entries(result.stages)) {
        console.log(`${stage}: ${describeTruncation(s.truncation, a ? 'responses' : 'pairs', 'response-start')}`);
        const last = s.last;
        if (last && 'margin' in last) console.log(`${stage}: ${s.steps} steps; last step: loss ${last.loss.toFixed(4)}, chosen reward ${last.chosenReward.toFixed(3)}, rejected reward ${last.rejectedReward.toFixed(3)}, margin ${last.margin.toFixed(3)}, accuracy ${(100 * last.accuracy).toFixed(1)}%`);
        else if (last) console.log(`${stage}: ${s.steps} steps; last step: loss ${last.loss.toFixed(4)}, NLL ${last.nll.toFixed(3)}, log π/π_ref ${last.logRatio.toFixed(3)}, advantage ${last.advantage.toFixed(3)}`);
        if (s.test) console.log(`${stage}: test (${s.test.n} pairs): loss ${s.test.loss.toFixed(4)}, margin ${s.test.margin.toFixed(3)}, accuracy ${(100 * s.test.accuracy).toFixed(1)}%`);
      }
      console.log(`model in ${result.outDir} (log.jsonl, result.json beside it)`);
    });
  }
}
