// Rejection-sampling fine-tuning on the user's own folders (`safealign train rsft`): load the policy and judges, read prompts, train, write the HF folder and result.
import { useDevice } from '../../config/device.js';
import { join } from 'node:path';
import { z } from 'zod';
import { DeviceSchema } from '../../config/device.js';
import { writeJsonAtomic } from '../../core/fs-atomic.js';
import { dataParallel } from '../../distributed/data-parallel.js';
import { silentProgress, type Progress } from '../../core/progress.js';
import { loadEvalPrompts, loadPolicy, scorer } from '../../eval/evaluate-models.js';
import { savePretrained } from '../../models/index.js';
import { RsftConfigSchema } from './config.js';
import { trainRsft, type RsftResult } from './train.js';

export const RsftFoldersSchema = z
  .object({
    model: z.string().describe('the policy to fine-tune and sample from: a Hugging Face causal-LM folder with its tokenizer (usually the SFT model)'),
    reward: z.string().describe('reward model folder: the helpfulness score σ(reward)'),
    cost: z.string().describe('cost model folder: the safety score σ(−cost)'),
    device: DeviceSchema,
    prompts: z.string().describe('prompts: PKU-SafeRLHF or HH-RLHF JSONL, {"prompt"} JSONL (a row may say "risky": true|false or "kind": "risky"|"benign"), or plain text, one per line'),
    out: z.string().describe('output folder: the fine-tuned model in HF layout, round_<r>/ (picks.jsonl, round.json, checkpoint/: re-run to resume), result.json'),
    maxPrompts: z.number().int().positive().optional().describe('use the first N prompts that fit only (default: all)'),
    scoreMaxLength: z.number().int().positive().default(512).describe('prompt + response tokens the reward and cost models read (capped by their context; the response\'s end kept)'),
    rsft: RsftConfigSchema.prefault({}).describe('rejection-sampling fine-tuning settings'),
  })
  .strict();
export type RsftFoldersConfig = z.output<typeof RsftFoldersSchema>;

export interface RsftFoldersResult extends RsftResult {
  prompts: { file: string; format: string; read: number; unreadable: number; used: number; flagged: number };
  outDir: string;
}

/** Runs RSFT from `config.model` (resuming from `<out>/round_<r>/` when there), writes the model to `<out>` and `<out>/result.json`. */
export function trainRsftOnFolders(config: RsftFoldersConfig, progress: Progress = silentProgress): RsftFoldersResult {
  useDevice(config.device); // the models this loads go there
  const policy = loadPolicy(config.model, 'policy');
  const judges = { reward: scorer(config.reward, 'reward', config.scoreMaxLength), cost: scorer(config.cost, 'cost', config.scoreMaxLength) };
  const { file, prompts, flags } = loadEvalPrompts({ prompts: config.prompts, maxNewTokens: config.rsft.maxNewTokens, maxPrompts: config.maxPrompts }, [policy], [judges.reward, judges.cost], progress);
  const out = trainRsft({
    policy: policy.model,
    tokenizer: policy.tokenizer,
    prompts: prompts.map((p, i) => {
      const { risky: _risky, ...rest } = p;
      const flag = flags[i];
      return flag === undefined ? rest : { ...rest, risky: flag };
    }),
    judges,
    config: config.rsft,
    outDir: config.out,
    progress,
  });
  const result: RsftFoldersResult = {
    ...out,
    prompts: { file: config.prompts, format: file.format, read: file.prompts.length, unreadable: file.problems.length, used: prompts.length, flagged: flags.filter((f) => f !== undefined).length },
    outDir: config.out,
  };
  if (!dataParallel().isMain) return result; // with several processes, rank 0 writes the folder
  savePretrained(config.out, policy.model, { tokenizer: policy.tokenizer, trainingConfig: config });
  writeJsonAtomic(join(config.out, 'result.json'), result);
  return result;
}
