// What only evaluation may read of a built world: test and held-out prompts, test pairs, gold labels, and the gold judge.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GoldJudge, RlPrompt } from '../algorithms/rl/train.js';
import { readPkuSafeRlhf } from '../data/pku-saferlhf.js';
import type { PreferenceRecord } from '../data/record.js';
import { worldMetrics } from '../eval/world-metrics.js';
import { WORLD_FILES } from '../world/build.js';
import { readAnnotatorLabels, readDemonstrations, readWorldPrompts } from './jsonl-lines.js';

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
  /** The test pairs once per annotator who labelled them, with that person's choice (MiCRo's per-type accuracy). */
  annotatorPairs: (PreferenceRecord & { annotator: string })[];
  /** Each annotator's type (annotators.types; 'standard' = untyped): hidden from training. */
  annotatorTypes: Record<string, string>;
  /** The gold oracle as a judge of generated responses. */
  judge: GoldJudge;
}

/** Reads the evaluation files of the world in `worldDir`; `judge` defaults to the world's gold oracle. */
export async function readEvaluationSet(worldDir: string, judge: GoldJudge = worldMetrics): Promise<EvaluationSet> {
  const file = (f: string) => join(worldDir, f);
  const pairs = (await readPkuSafeRlhf(file(WORLD_FILES.preferencesTest))).records;
  const annotators = (JSON.parse(readFileSync(file(WORLD_FILES.annotators), 'utf8')) as { annotators: { id: string; type?: string }[] }).annotators;
  return {
    testPrompts: readWorldPrompts(file(WORLD_FILES.promptsTest)),
    heldOutPrompts: readWorldPrompts(file(WORLD_FILES.promptsHeldOut)),
    sftTest: readDemonstrations(file(WORLD_FILES.sftTest)),
    pairs,
    annotatorPairs: readAnnotatorLabels(file(WORLD_FILES.rawLabels), 'test', pairs),
    annotatorTypes: Object.fromEntries(annotators.map((a) => [a.id, a.type ?? 'standard'])),
    goldPairs: (await readPkuSafeRlhf(file(WORLD_FILES.goldTest))).records,
    judge,
  };
}
