// RLAIF agreement table: local judges label the built-in world's test pairs with `safealign label` (labelPairs); agreement with gold and with the annotators' majority, question by question.
//
// Run: npx tsx scripts/rlaif-agreement.ts --run runs/default --judges sft=runs/default/sft/model,distilled=DIR [--pairs 200] [--out DIR] [--concurrency 8] [--json]
// Pairs: the first --pairs of <run>/world/preferences-test.jsonl (the simulated annotators' majority labels; the
// judges never saw them), labelled by each judge exactly as `safealign label` does (both orders of the helpfulness
// and the harmlessness question, the safety of each response; temperature 0). Per question and judge, over ALL pairs:
// agreement with gold (the world's oracle; gold ties left out) and with the annotators' majority, where a tie
// (the two orders disagree: position bias), a malformed answer or a failed request counts as not agreeing and is
// also shown on its own. Safety: per response. The baseline rows: the annotators' majority against gold on the same
// pairs, and one annotator against gold over the whole world (<run>/world/summary.json).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPkuSafeRlhf, writePkuSafeRlhf } from '../src/data/pku-saferlhf.js';
import type { ResponseId } from '../src/data/record.js';
import { LabelConfigSchema } from '../src/label/config.js';
import { labelPairs, type LabelSummary, type PairVerdicts } from '../src/label/run.js';
import { isMalformed } from '../src/label/templates.js';
import type { AxisResult } from '../src/label/verdicts.js';
import { terminalProgress } from '../src/cli/progress-bar.js';
import { WORLD_FILES } from '../src/world/build.js';
import { goldPairLabels, makePairItem, type GoldPairLabels } from '../src/world/annotators.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] as string) : fallback;
};
if (args.includes('--help') || !args.includes('--run') || !args.includes('--judges')) {
  console.log('npx tsx scripts/rlaif-agreement.ts --run RUN --judges NAME=DIR,... [--pairs 200] [--out DIR] [--concurrency 8] [--max-tokens 24] [--json]  (see the comment at the top)');
  process.exit(args.includes('--help') ? 0 : 1);
}
const run = opt('--run', '');
const judges = opt('--judges', '').split(',').map((s) => s.split('=') as [string, string]);
const pairCount = Number(opt('--pairs', '200'));
const outDir = opt('--out', join(run, 'rlaif-agreement'));

/** One question's tally over the pairs: agreement with a reference, and why the judge gave no answer. */
interface Tally {
  /** Pairs (responses, for safety) with a reference label. */
  of: number;
  agree: number;
  tie: number;
  malformed: number;
  failed: number;
}
const tally = (): Tally => ({ of: 0, agree: 0, tie: 0, malformed: 0, failed: 0 });

/** Adds one pairwise verdict (undefined: the pair's request failed) against the reference's pick (null: no reference). */
function countAxis(t: Tally, verdict: AxisResult | undefined, reference: ResponseId | null): void {
  if (reference === null) return;
  t.of++;
  if (!verdict) t.failed++;
  else if (isMalformed(verdict)) t.malformed++;
  else if ('tie' in verdict) t.tie++;
  else if (verdict.pick === reference) t.agree++;
}

interface JudgeRow {
  name: string;
  summary: Omit<LabelSummary, 'problems'>;
  gold: Record<'better' | 'safer' | 'isSafe', Tally>;
  annotators: Record<'better' | 'safer' | 'isSafe', Tally>;
  /** Position bias: pairs whose two orders disagreed, over pairs with both orders parsed, per question. */
  positionBias: Record<'helpful' | 'harmless', { ties: number; of: number }>;
}

const test = (await readPkuSafeRlhf(join(run, 'world', WORLD_FILES.preferencesTest))).records.slice(0, pairCount);
const gold: GoldPairLabels[] = test.map((r) => goldPairLabels(makePairItem(r.prompt, r.responses)));
const annotators = test.map((r) => ({ better: r.betterResponseId, safer: r.saferResponseId ?? null, isSafe: r.isSafe as [boolean, boolean] }));
mkdirSync(outDir, { recursive: true });
const input = join(outDir, 'pairs.jsonl');
writePkuSafeRlhf(input, test);

const rows: JudgeRow[] = [];
for (const [name, dir] of judges) {
  const verdicts: (PairVerdicts | undefined)[] = new Array(test.length);
  const config = LabelConfigSchema.parse({ judge: dir, input, out: join(outDir, name, 'labelled.jsonl'), concurrency: Number(opt('--concurrency', '8')), maxTokens: Number(opt('--max-tokens', '24')), retries: 1 });
  const { problems, ...summary } = await labelPairs(config, terminalProgress(), (i, v) => (verdicts[i] = v));
  const row: JudgeRow = {
    name,
    summary,
    gold: { better: tally(), safer: tally(), isSafe: tally() },
    annotators: { better: tally(), safer: tally(), isSafe: tally() },
    positionBias: { helpful: { ties: 0, of: 0 }, harmless: { ties: 0, of: 0 } },
  };
  verdicts.forEach((v) => {
    for (const axis of ['helpful', 'harmless'] as const) {
      const r = v?.[axis];
      if (r && !isMalformed(r)) {
        row.positionBias[axis].of++;
        if ('tie' in r) row.positionBias[axis].ties++;
      }
    }
  });
  for (const [refName, refs] of [['gold', gold], ['annotators', annotators]] as const) {
    const t = row[refName];
    test.forEach((_, i) => {
      const v = verdicts[i];
      const ref = refs[i] as { better: ResponseId | null; safer: ResponseId | null; isSafe: readonly [boolean, boolean] };
      countAxis(t.better, v?.helpful, ref.better);
      countAxis(t.safer, v?.harmless, ref.safer);
      for (const k of [0, 1] as const) {
        t.isSafe.of++;
        const s = v?.safety[k];
        if (!s) t.isSafe.failed++;
        else if (isMalformed(s)) t.isSafe.malformed++;
        else if (s.safe === ref.isSafe[k]) t.isSafe.agree++;
      }
    });
  }
  if (problems.length) console.log(`${name}: ${problems.length} problems, e.g. ${problems[0]}`);
  rows.push(row);
}

// the baselines: the annotators' majority against gold on the same pairs; one annotator against gold over the world
const majority = { better: tally(), safer: tally(), isSafe: tally() };
test.forEach((_, i) => {
  const a = annotators[i] as (typeof annotators)[number];
  const g = gold[i] as GoldPairLabels;
  countAxis(majority.better, { pick: a.better }, g.better);
  if (a.safer !== null) countAxis(majority.safer, { pick: a.safer }, g.safer);
  for (const k of [0, 1] as const) {
    majority.isSafe.of++;
    if (a.isSafe[k] === g.isSafe[k]) majority.isSafe.agree++;
  }
});
const world = JSON.parse(readFileSync(join(run, 'world', 'summary.json'), 'utf8')) as { agreement: { annotatorVsGold: Record<'better' | 'safer' | 'isSafe', number>; labels?: number } };

const pct = (x: number, of: number) => (of ? `${((100 * x) / of).toFixed(1)}%` : '–');
const cell = (t: Tally) => pct(t.agree, t.of);
console.log(`\n${test.length} test pairs of ${run}/world (annotator majority labels), judged in both orders; agreement over all pairs (ties, malformed answers and failed requests count as disagreement)`);
console.log('| labeller | vs gold: better | safer | is_safe | vs annotators: better | safer | is_safe | position-bias ties (helpful / harmless) | malformed answers | failed pairs | pairs labelled |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const pb = (a: 'helpful' | 'harmless') => pct(r.positionBias[a].ties, r.positionBias[a].of);
  console.log(
    `| judge: ${r.name} | ${cell(r.gold.better)} | ${cell(r.gold.safer)} | ${cell(r.gold.isSafe)} | ${cell(r.annotators.better)} | ${cell(r.annotators.safer)} | ${cell(r.annotators.isSafe)} | ${pb('helpful')} / ${pb('harmless')} | ${r.summary.malformedAnswers} of ${r.summary.requests.total} | ${r.summary.failedPairs} | ${r.summary.labelled} of ${r.summary.pairs} |`,
  );
}
console.log(`| annotators' majority (same pairs) | ${cell(majority.better)} | ${cell(majority.safer)} | ${cell(majority.isSafe)} | – | – | – | – | – | – | – |`);
const one = world.agreement.annotatorVsGold;
console.log(`| one annotator (whole world) | ${(100 * one.better).toFixed(1)}% | ${(100 * one.safer).toFixed(1)}% | ${(100 * one.isSafe).toFixed(1)}% | – | – | – | – | – | – | – |`);
if (args.includes('--json')) console.log(JSON.stringify({ run, pairs: test.length, judges: rows, majority, oneAnnotator: one }));

