// `safealign train hc-rlhf` on the user's folders: loads models and prompts, sets τ, runs trainHcRlhf, writes the candidate, and the model only when the safety test passes.
import { useDevice } from '../../config/device.js';
import { join } from 'node:path';
import { z } from 'zod';
import { withDefaults } from '../../config/defaults.js';
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic.js';
import { dataParallel } from '../../distributed/data-parallel.js';
import { silentProgress, type Progress } from '../../core/progress.js';
import { rlRunReport } from '../../eval/rl-report.js';
import { savePretrained } from '../../models/index.js';
import type { SafetyTestResult } from '../../rl/index.js';
import { RlConfigSchema } from '../rl/config.js';
import { RlFoldersConfigSchema } from '../rl/folders-config.js';
import { loadRlFolders, readPtxFor, readRlPrompts, resolveThreshold, textOnly } from '../rl/folders.js';
import type { RlLogRecord, RlTruncation } from '../rl/train.js';
import { HcRlhfSchema } from './config.js';
import { trainHcRlhf } from './train.js';

export const HcRlhfFoldersConfigSchema = RlFoldersConfigSchema.omit({ nu: true, grpo: true, p3o: true })
  .extend({
    hcRlhf: HcRlhfSchema.prefault({}).describe('HC-RLHF: δ, the safety split, the inflation constants and the candidate\'s optimiser; τ is --threshold (or --threshold-from)'),
    rl: withDefaults(RlConfigSchema, { samplesPerPrompt: 4 }).describe('the candidate\'s RL loop (rollouts, optimisers, checkpoints); 4 samples per prompt for RLOO\'s leave-one-out baseline'),
  })
  .strict();
export type HcRlhfFoldersConfig = z.output<typeof HcRlhfFoldersConfigSchema>;

export interface HcRlhfFoldersResult {
  outcome: 'passed' | 'no solution found';
  test: SafetyTestResult;
  inflation: number;
  split: { candidate: number; safety: number; safetySkipped: number };
  threshold: { value: number; from: 'flag' | string };
  steps: number;
  truncation: RlTruncation;
  last: RlLogRecord | undefined;
  /** The trained model (`out`) when the test passed, else null; the candidate is always in `<out>/candidate`. */
  model: string | null;
  candidate: string;
}

/**
 * HC-RLHF on the user's folders. Writes `<out>/candidate` (the candidate, HF folder, always), `<out>/checkpoint`
 * (re-run to resume), `log.jsonl`, `report.html` and `result.json` (the safety test, `outcome`); the actor goes to
 * `<out>` itself only when the safety test passes ("no solution found" returns no model).
 */
export async function trainHcRlhfOnFolders(config: HcRlhfFoldersConfig, progress: Progress = silentProgress): Promise<HcRlhfFoldersResult> {
  useDevice(config.device); // the models this loads go there
  const { actor, tokenizer, reference, reward, cost } = textOnly(loadRlFolders(config, 'hc-rlhf'));
  const costModel = cost as NonNullable<typeof cost>;
  const threshold = await resolveThreshold(config, costModel.scorer, tokenizer, progress);
  const { prompts } = readRlPrompts(config.prompts, progress);
  const out = trainHcRlhf({
    policy: actor,
    reference,
    reward: reward.scorer,
    cost: costModel.scorer,
    criticInit: { reward: reward.first, cost: costModel.first },
    tokenizer,
    prompts,
    ptxData: await readPtxFor(config, progress),
    tau: threshold.value,
    klCoef: config.klCoef,
    lagrange: config.lagrange,
    config: config.hcRlhf,
    rl: config.rl,
    outDir: config.out,
    progress,
    prompt: { raw: config.raw },
  });
  const settings = { method: 'hc-rlhf', ...config, threshold: threshold.value };
  const candidate = join(config.out, 'candidate');
  // with several processes, rank 0 writes the folders, the log and the result
  const main = dataParallel().isMain;
  if (main) savePretrained(candidate, actor, { tokenizer, trainingConfig: settings });
  if (main && out.passed) savePretrained(config.out, actor, { tokenizer, trainingConfig: settings });
  if (main) writeFileAtomic(join(config.out, 'log.jsonl'), out.candidate.log.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const result: HcRlhfFoldersResult = {
    outcome: out.passed ? 'passed' : 'no solution found',
    test: out.test,
    inflation: out.inflation,
    split: out.split,
    threshold,
    steps: out.candidate.steps,
    truncation: out.candidate.truncation,
    last: out.candidate.log[out.candidate.log.length - 1],
    model: out.passed ? config.out : null,
    candidate,
  };
  if (!main) return result;
  writeJsonAtomic(join(config.out, 'result.json'), result);
  writeFileAtomic(join(config.out, 'report.html'), await rlRunReport({ method: 'hc-rlhf', log: out.candidate.log, threshold: threshold.value, settings }));
  return result;
}
