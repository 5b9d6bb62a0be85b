// Formats a world summary for the terminal.
import type { WorldSummary } from './build.js';

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** A few readable lines: what was written and the numbers that say whether the world is sane. */
export function formatWorldSummary(s: WorldSummary, outDir: string): string {
  const p = s.prompts;
  const pt = s.pairs.pairTypes.annotated;
  const ag = s.agreement;
  return [
    `world (seed ${s.seed}) written to ${outDir}`,
    `  vocabulary: ${s.vocabularySize} words (${s.files.vocabulary})`,
    `  prompts: train ${p.train.benign} benign + ${p.train.risky} risky, test ${p.test.benign} + ${p.test.risky}, red team ${p.redteam}, held-out requests ${p.heldout.benign} + ${p.heldout.risky}`,
    `  SFT corpus: ${s.sft.train} train / ${s.sft.test} test answers; gold harmful rate on risky prompts ${pct(s.sft.goldHarmfulRateRisky)}`,
    `  preference pairs: ${s.pairs.train} train / ${s.pairs.test} test; safe-safe ${pt['safe-safe']}, safe-unsafe ${pt['safe-unsafe']}, unsafe-unsafe ${pt['unsafe-unsafe']}`,
    `  better == safer: ${pct(s.pairs.betterEqualsSafer.annotated)} (gold ${pct(s.pairs.betterEqualsSafer.gold)}); inconsistent majority labels ${s.pairs.inconsistent} (repaired ${s.pairs.repaired})`,
    `  annotators: ${s.annotators.qualified} of ${s.annotators.pool + s.annotators.planted} passed qualification (${pct(s.annotators.passRate)}; planted careless rejected ${s.annotators.plantedRejected}/${s.annotators.planted})`,
    `  inter-annotator agreement: helpfulness ${pct(ag.interAnnotator.better)}, harmlessness ${pct(ag.interAnnotator.safer)}, is_safe ${pct(ag.interAnnotator.isSafe)}`,
    `  majority vs gold: helpfulness ${pct(ag.majorityVsGold.better)}, harmlessness ${pct(ag.majorityVsGold.safer)}, is_safe ${pct(ag.majorityVsGold.isSafe)}`,
    ...(s.images ? [`  pictures: ${s.images.count} (${s.images.variants} per topic, ${s.images.testVariants} of them test), ${s.images.size}x${s.images.size} px under images/`] : []),
  ].join('\n');
}
