// The pipeline's `rlaif` option: a judge model labels a round's pairs instead of the simulated annotators; its agreement with them and with gold is measured.
import { join } from 'node:path';
import type { Progress } from '../core/progress.js';
import { readPkuSafeRlhf, writePkuSafeRlhf } from '../data/pku-saferlhf.js';
import type { PreferenceRecord } from '../data/record.js';
import { LabelConfigSchema } from '../label/config.js';
import { labelPairs, type LabelSummary } from '../label/run.js';
import { agreement, comparable, type Agreement, type ComparableLabels } from '../label/agreement.js';
import { goldPairLabels, makePairItem } from '../world/annotators.js';

export interface RlaifRound {
  /** The judge's labelling summary (counts, ties, malformed answers, tokens). */
  summary: Omit<LabelSummary, 'problems'> & { problems: number };
  judgeWithAnnotators: Agreement | null;
  judgeWithGold: Agreement | null;
  /** The annotators' agreement with gold on the same pairs (the judge's labelled ones): the baseline. */
  annotatorsWithGold: Agreement | null;
}

/** The gold labels of a pair of the world (evaluation only). */
function gold(r: PreferenceRecord): ComparableLabels {
  return goldPairLabels(makePairItem(r.prompt, r.responses));
}

/**
 * Has the judge label the annotator-labelled `records` (written to `<stageDir>/annotator-preferences.jsonl`);
 * returns the judge's records (input order, ties and malformed answers left out) and the agreement figures.
 * Gold labels are read here for the figures only (evaluation); the records returned carry the judge's labels.
 */
export async function judgeRoundPairs(args: { records: readonly PreferenceRecord[]; stageDir: string; config: { judge: string } & Partial<Record<string, unknown>>; progress: Progress }): Promise<{ records: PreferenceRecord[]; rlaif: RlaifRound }> {
  const input = join(args.stageDir, 'annotator-preferences.jsonl');
  const out = join(args.stageDir, 'judge-preferences.jsonl');
  writePkuSafeRlhf(input, args.records);
  const summary = await labelPairs(LabelConfigSchema.parse({ ...args.config, input, out }), args.progress);
  const judged = (await readPkuSafeRlhf(out)).records;
  // the judge's records keep input order: match them to the annotators' by prompt and responses
  const key = (r: PreferenceRecord) => JSON.stringify([r.prompt, r.responses]);
  const byKey = new Map(args.records.map((r) => [key(r), r]));
  const paired = judged.map((j) => [j, byKey.get(key(j)) as PreferenceRecord] as const);
  const { problems, ...rest } = summary;
  return {
    records: judged,
    rlaif: {
      summary: { ...rest, problems: problems.length },
      judgeWithAnnotators: agreement(paired.map(([j, a]) => [comparable(j), comparable(a)])),
      judgeWithGold: agreement(paired.map(([j]) => [comparable(j), gold(j)])),
      annotatorsWithGold: agreement(paired.map(([j, a]) => [comparable(a), gold(j)])),
    },
  };
}
