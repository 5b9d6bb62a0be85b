// `safealign train ppo-lag|ppo|shaping|grpo|safe-grpo|rloo-lag|p3o`: RL on your own actor, reward and cost model folders and prompts.
import { dataParallel } from '../distributed/data-parallel.js';
import type { Command } from 'commander';
import { RL_FOLDER_METHODS, RlFoldersConfigSchema, type RlFolderMethod } from '../algorithms/rl/folders-config.js';
import { trainRlOnFolders } from '../algorithms/rl/folders.js';
import { useDevice } from '../config/device.js';
import { addSchemaOptions, flagsToConfig, resolveConfig } from '../config/schema-cli.js';
import { terminalProgress } from './progress-bar.js';

const ABOUT: Record<RlFolderMethod, string> = {
  'ppo-lag': 'PPO-Lagrangian (Safe RLHF): maximise reward subject to J_c <= d, with a learned λ; needs --reward and --cost',
  ppo: 'PPO on the reward model alone (the RLHF baseline); --cost is not used',
  shaping: 'PPO on the shaped reward R − ν·C with a fixed ν; needs --reward and --cost',
  grpo: 'GRPO (critic-free): --rl-samples-per-prompt G ≥ 2 responses per prompt, each scored against its group; reward R − w·C with --grpo-cost-weight w (0: --cost not used); β·k3 KL in the loss',
  'safe-grpo': 'safe GRPO (critic-free Safe RLHF): group-normalised reward and cost advantages combined by a learned λ as PPO-Lagrangian does (J_c <= d); needs --reward, --cost and --rl-samples-per-prompt G ≥ 2',
  'rloo-lag': 'RLOO-Lagrangian (critic-free): REINFORCE with a leave-one-out baseline over the G samples of a prompt on reward and cost, combined by a learned λ; needs --reward, --cost and --rl-samples-per-prompt G ≥ 2',
  p3o: 'P3O, pairwise PPO (critic-free): two responses per prompt (--rl-samples-per-prompt 2), updated on their reward difference (KL folded into the reward) with trajectory-wise clipped ratios (--p3o-clip separate|joint); a constant shift of the reward model changes nothing; --cost is not used',
};

/** Adds one subcommand per method under `train`. */
export function registerRlCommands(train: Command): void {
  for (const name of RL_FOLDER_METHODS) {
    const cmd = train
      .command(name)
      .description(
        `${ABOUT[name]}. Critics (ppo-lag, ppo, shaping) start from the score models. Writes the actor (HF folder), checkpoint/ (re-run the same command to resume), ` +
          'log.jsonl (one record per RL step), result.json and report.html into --out. Prompts that leave no room for --rl-max-new-tokens in the models\' context are skipped and counted.',
      )
      .option('--config <file>', 'YAML config with any subset of the fields below (flags win over the file)');
    const leaves = addSchemaOptions(cmd, RlFoldersConfigSchema);
    cmd.action(async (opts: Record<string, unknown>) => {
      const cfg = resolveConfig(RlFoldersConfigSchema, { file: opts.config as string | undefined, flags: flagsToConfig(leaves, opts) });
      useDevice(cfg.device);
      const result = await trainRlOnFolders(name, cfg, terminalProgress());
      if (!dataParallel().isMain) return; // rank 0 reports
      const p = result.truncation.prompts;
      console.log(`prompts: ${result.prompts.read} read from ${result.prompts.file} (${result.prompts.format}), ${result.prompts.unreadable} unreadable lines; ${p.skipped} of ${p.total} skipped (longer than ${p.maxLength} tokens)`);
      const last = result.last;
      if (last) {
        const parts = [`reward ${last.reward.toFixed(3)}`, ...(last.cost !== undefined ? [`cost ${last.cost.toFixed(3)}`] : []), `KL ${last.kl.toFixed(3)}`, ...(last.lambda !== undefined ? [`λ ${last.lambda.toFixed(3)}`] : []), ...(last.jc !== undefined ? [`J_c ${last.jc.toFixed(3)}`] : [])];
        console.log(`${name}: ${result.steps} steps${result.threshold ? `, d = ${result.threshold.value.toFixed(4)}` : ''}; last step: ${parts.join(', ')}`);
      }
      console.log(`actor in ${result.outDir} (log.jsonl, result.json, report.html beside it)`);
    });
  }
}
