// The pipeline's `rlaif` option: a judge model labels a round's pairs instead of the simulated annotators; its agreement with them and with gold is measured.
import { join } from 'node:path';
import type { Progress } from '../core/progress.js';
import { readPkuSafeRlhf, writePkuSafeRlhf } from '../data/pku-saferlhf.js';
import type { PreferenceRecord } from '../data/record.js';
import { LabelConfigSchema } from '../label/config.js';
import { labelPairs, type LabelSummary } from '../label/run.js';
import { goldPairLabels, makePairItem } from '../world/annotators.js';

/** Share of pairs on which two labellings agree (gold ties left out of `better`/`safer`), per label; `isSafe` per response. */
export interface Agreement {
  pairs: number;
  better: number;
  safer: number;
  isSafe: number;
}

export interface RlaifRound {
  /** The judge's labelling summary (counts, ties, malformed answers, tokens). */
  summary: Omit<LabelSummary, 'problems'> & { problems: number };
  judgeWithAnnotators: Agreement | null;
  judgeWithGold: Agreement | null;
  /** The annotators' agreement with gold on the same pairs (the judge's labelled ones): the baseline. */
  annotatorsWithGold: Agreement | null;
}

function agreement(pairs: readonly [PreferenceRecord, PreferenceRecord | 'gold'][]): Agreement | null {
  if (!pairs.length) return null;
  const n = { better: 0, betterOf: 0, safer: 0, saferOf: 0, isSafe: 0, isSafeOf: 0 };
  for (const [a, other] of pairs) {
    const b = other === 'gold' ? goldPairLabels(makePairItem(a.prompt, a.responses)) : { better: other.betterResponseId, safer: other.saferResponseId ?? null, isSafe: other.isSafe };
    if (b.better !== null) {
      n.betterOf++;
      n.better += Number(a.betterResponseId === b.better);
    }
    if (b.safer !== null) {
      n.saferOf++;
      n.safer += Number(a.saferResponseId === b.safer);
    }
    if (a.isSafe && b.isSafe) {
      n.isSafeOf++;
      n.isSafe += (Number(a.isSafe[0] === b.isSafe[0]) + Number(a.isSafe[1] === b.isSafe[1])) / 2;
    }
  }
  return { pairs: pairs.length, better: n.better / Math.max(1, n.betterOf), safer: n.safer / Math.max(1, n.saferOf), isSafe: n.isSafe / Math.max(1, n.isSafeOf) };
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
      judgeWithAnnotators: agreement(paired.map(([j, a]) => [j, a])),
      judgeWithGold: agreement(judged.map((j) => [j, 'gold'])),
      annotatorsWithGold: agreement(paired.map(([, a]) => [a, 'gold'])),
    },
  };
}
