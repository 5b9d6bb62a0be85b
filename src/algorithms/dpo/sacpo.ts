// SACPO (Wachi et al. 2024), stepwise: DPO on helpfulness from the start model, then DPO on safety pairs from that model with β/λ; P-SACPO merges the two stages' weights.
import { join } from 'node:path';
import { silentProgress, type Progress } from '../../core/progress.js';
import type { PreferenceRecord } from '../../data/record.js';
import { mergeParametersInto } from '../../models/merge.js';
import type { CausalLM } from '../../models/index.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import type { SacpoConfig } from './config.js';
import { helpfulnessPairs, safetyPairs } from './pairs.js';
import { trainPreferences, type PreferenceResult } from './train.js';

export interface SacpoResult {
  /** Stage 1: aligned for helpfulness, and the reference of stage 2. */
  helpful: { model: CausalLM; result: PreferenceResult };
  /** Stage 2: the SACPO model. */
  safety: { model: CausalLM; result: PreferenceResult };
  /** P-SACPO: (1 − q)·θ_helpful + q·θ_safety, when `config.merge` is set. */
  merged: CausalLM | null;
}

/**
 * Trains both SACPO stages under `<outDir>/helpful` and `<outDir>/safety` (each resumable: a finished
 * stage resumes at its last step and costs only loading). `load` returns a fresh copy of the start
 * model (the SFT policy): the policy and reference of stage 1, the skeleton of stage 2 and the merge.
 */
export function trainSacpo(args: {
  load: () => CausalLM;
  tokenizer: Tokenizer;
  train: readonly PreferenceRecord[];
  test?: readonly PreferenceRecord[];
  config: SacpoConfig;
  outDir: string;
  progress?: Progress;
}): SacpoResult {
  const { load, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const test = (select: (r: readonly PreferenceRecord[]) => ReturnType<typeof helpfulnessPairs>) => (args.test ? { test: select(args.test) } : {});
  const helpful = load();
  const helpfulResult = trainPreferences({
    policy: helpful,
    reference: load(),
    tokenizer,
    train: helpfulnessPairs(args.train),
    ...test(helpfulnessPairs),
    config: config.helpful,
    outDir: join(args.outDir, 'helpful'),
    label: 'sacpo helpful',
    progress,
  });
  // Stage 2 starts from the stage-1 model and is regularised towards it, with β/λ.
  const safety = load();
  safety.loadStateDict(helpful.stateDict(), { source: 'the stage-1 model' });
  const safetyResult = trainPreferences({
    policy: safety,
    reference: helpful,
    tokenizer,
    train: safetyPairs(args.train),
    ...test(safetyPairs),
    config: { ...config.safety, beta: config.helpful.beta / config.lambda },
    outDir: join(args.outDir, 'safety'),
    label: 'sacpo safety',
    progress,
  });
  let merged: CausalLM | null = null;
  if (config.merge !== null) {
    merged = load();
    mergeParametersInto(merged, [helpful, safety], [1 - config.merge, config.merge], 'P-SACPO');
  }
  return { helpful: { model: helpful, result: helpfulResult }, safety: { model: safety, result: safetyResult }, merged };
}
