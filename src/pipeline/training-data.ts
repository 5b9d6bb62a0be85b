// What training stages may read of a built world: train prompts, the SFT corpus, annotator-labelled pairs, red team, vocabulary.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RlPrompt } from '../algorithms/rl/train.js';
import { readPkuSafeRlhf } from '../data/pku-saferlhf.js';
import type { PreferenceRecord } from '../data/record.js';
import { WORLD_FILES } from '../world/build.js';
import { readAnnotatorLabels, readDemonstrations, readWorldPrompts } from './jsonl-lines.js';

/**
 * The training side of the world. Gold labels, test prompts and pairs, and held-out requests are
 * not here: they are read by `readEvaluationSet` (evaluation-data.ts) and handed to evaluation only.
 * `sftTrain` lines carry the world's gold labels for auditing; only `prompt` and `response` are kept.
 */
export interface TrainingData {
  /** (prompt, response) demonstrations of the SFT corpus on train prompts. */
  sftTrain: { prompt: string; response: string }[];
  /** Train prompts (RL, SFT response pairs). */
  prompts: RlPrompt[];
  /** Red-team prompts for the iterative rounds. */
  redTeam: RlPrompt[];
  /** Preference pairs on train prompts labelled by the simulated annotators (majority labels). */
  pairs: PreferenceRecord[];
  /** The same pairs once per annotator who labelled them, with that person's choice and id (types unknown): MiCRo's data. */
  annotatorPairs: (PreferenceRecord & { annotator: string })[];
  /** The closed vocabulary, one word a line (for the tokenizer). */
  vocabulary: string[];
}

export async function readTrainingData(worldDir: string): Promise<TrainingData> {
  const file = (f: string) => join(worldDir, f);
  const pairs = (await readPkuSafeRlhf(file(WORLD_FILES.preferencesTrain))).records;
  return {
    sftTrain: readDemonstrations(file(WORLD_FILES.sftTrain)),
    prompts: readWorldPrompts(file(WORLD_FILES.promptsTrain)),
    redTeam: readWorldPrompts(file(WORLD_FILES.promptsRedteam)),
    pairs,
    annotatorPairs: readAnnotatorLabels(file(WORLD_FILES.rawLabels), 'train', pairs),
    vocabulary: readFileSync(file(WORLD_FILES.vocabulary), 'utf8').split('\n'),
  };
}
