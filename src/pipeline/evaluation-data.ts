// What only evaluation may read of a built world: test and held-out prompts, test pairs, gold labels, and the gold judge.
import { join } from 'node:path';
import type { GoldJudge, RlPrompt } from '../algorithms/rl/train.js';
import { readPkuSafeRlhf } from '../data/pku-saferlhf.js';
import type { PreferenceRecord } from '../data/record.js';
import { worldMetrics } from '../eval/world-metrics.js';
import { WORLD_FILES } from '../world/build.js';
import { readDemonstrations, readWorldPrompts } from './jsonl-lines.js';

/**
 * The evaluation side of the world. Nothing here may feed a training setting (weights, data,
 * thresholds): the pipeline hands it to evaluation only, and test/pipeline/no-leak.test.ts checks
 * that altering these files leaves every trained artifact unchanged.
 */
export interface EvaluationSet {
  /** Test prompts: new pairings of training requests and templates. */
  testPrompts: RlPrompt[];
  /** Requests never seen in any training data (src/world/README.md, "Held-out requests"). */
  heldOutPrompts: RlPrompt[];
  /** SFT demonstrations on test prompts (the SFT stage's held-out loss curve). */
  sftTest: { prompt: string; response: string }[];
  /** Preference pairs on test prompts with the annotators' majority labels. */
  pairs: PreferenceRecord[];
  /** The same pairs with gold labels. */
  goldPairs: PreferenceRecord[];
  /** The gold oracle as a judge of generated responses. */
  judge: GoldJudge;
}

/** Reads the evaluation files of the world in `worldDir`; `judge` defaults to the world's gold oracle. */
export async function readEvaluationSet(worldDir: string, judge: GoldJudge = worldMetrics): Promise<EvaluationSet> {
  const file = (f: string) => join(worldDir, f);
  return {
    testPrompts: readWorldPrompts(file(WORLD_FILES.promptsTest)),
    heldOutPrompts: readWorldPrompts(file(WORLD_FILES.promptsHeldOut)),
    sftTest: readDemonstrations(file(WORLD_FILES.sftTest)),
    pairs: (await readPkuSafeRlhf(file(WORLD_FILES.preferencesTest))).records,
    goldPairs: (await readPkuSafeRlhf(file(WORLD_FILES.goldTest))).records,
    judge,
  };
}
