// Reproduces the README's over-optimisation figure and numbers from a finished `safealign pipeline --methods overoptimisation` run (one or several seeds).
//
//   safealign pipeline --seeds 3 --rounds-count 0 --methods overoptimisation --name overopt
//   npx tsx scripts/overoptimisation.ts --run runs/overopt [--out docs/overoptimisation]
//
// Reads the finished overopt_* stages of <run>/seed_* (or of <run> for one seed; also of a replicate still running), writes <out>.json (per run: the gold peak's step, KL and
// gold, the gold at the end, its fall, the replicates that over-optimised and the compute cost, each a mean with its 95%
// t-interval; best-of-N's peak N) and <out>.svg (the curves averaged over the replicates against √KL), and prints a table.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Interval } from '../src/eval/intervals.js';
import { overoptPlot } from '../src/pipeline/overoptimisation-report.js';
import { aggregateOveroptimisation } from '../src/pipeline/overoptimisation-seeds.js';
import type { BonPoint } from '../src/eval/overoptimisation.js';
import { PipelineConfigSchema } from '../src/pipeline/config.js';
import { OVEROPT_VARIANTS, rewardStageOf, summariseBestOfN, summariseRun, type OveroptimisationResult, type OveroptRun } from '../src/pipeline/overoptimisation.js';

const { values } = parseArgs({ options: { run: { type: 'string', default: 'runs/overopt' }, out: { type: 'string', default: 'docs/overoptimisation' } } });
const run = values.run as string;
const replicates = existsSync(join(run, 'config.json')) && !existsSync(join(run, 'seed_0')) ? [run] : readdirSync(run).filter((d) => /^seed_\d+$/.test(d)).sort().map((d) => join(run, d));
/** A stage's saved result and wall time, or undefined while it has not finished. */
function stage<T>(dir: string, name: string): { result: T; wallTimeSec: number } | undefined {
  const file = join(dir, name, 'stage.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { result: T; wallTimeSec: number }) : undefined;
}

/** A replicate's result from the stages that have finished (every variant with a stage, also one run apart and copied in), binned by its config. */
function readReplicate(dir: string): OveroptimisationResult {
  const oo = PipelineConfigSchema.parse(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).overoptimisation;
  const runs: OveroptimisationResult['runs'] = {};
  for (const v of OVEROPT_VARIANTS) {
    const s = stage<OveroptRun>(dir, `overopt_${v}`);
    if (s) runs[v] = summariseRun(oo, s.result, s.wallTimeSec, stage(dir, rewardStageOf(v))?.wallTimeSec ?? 0);
  }
  const bon = stage<{ prompts: number; curve: BonPoint[] }>(dir, 'overopt_best_of_n');
  console.log(`${dir}: runs ${Object.keys(runs).join(', ') || 'none'}${bon ? ', best-of-N' : ''}`);
  return { klCoef: oo.klCoef, runs, ...(bon ? { bestOfN: summariseBestOfN(oo, bon.result, bon.wallTimeSec) } : {}) };
}

const results = replicates.map(readReplicate);
const agg = aggregateOveroptimisation(results);
const out = values.out as string;
writeFileSync(`${out}.json`, JSON.stringify({ run, dirs: replicates, ...agg }, null, 2) + '\n');
const klCoef = results[0]?.klCoef;
const lines = { ...Object.fromEntries(Object.entries(agg.runs).map(([k, r]) => [k, r.curve])), ...(agg.bestOfN ? { 'best-of-N': agg.bestOfN.curve } : {}) };
const svg = await overoptPlot(lines, `Over-optimisation in the built-in world, β = ${klCoef}, mean over the seeds that ran each (${results.length} at most): proxy reward, gold helpfulness and gold harm against √KL to SFT`);
writeFileSync(`${out}.svg`, svg);

const f = (i: Interval, d = 2) => `${i.mean.toFixed(d)}${i.lo !== null && i.hi !== null ? ` [${i.lo.toFixed(d)}, ${i.hi.toFixed(d)}]` : ''}`;
console.log(`${results.length} replicates of ${run} (β ${klCoef}); mean [95% t-interval]`);
console.log('run (replicates) | peak step | KL at peak | gold at peak | gain over SFT | gold at end | drop | over-optimised | KL at end | RL s | + reward model(s) s');
for (const [k, r] of Object.entries(agg.runs)) {
  const seeds = r.perReplicate.map((x) => `step ${x.peak.step} KL ${x.peak.kl.toFixed(1)} gold ${x.peak.gold.toFixed(2)} -> ${x.final.gold.toFixed(2)}`).join('; ');
  console.log([`${k} (${r.replicates})`, f(r.peakStep, 1), f(r.peakKl, 1), f(r.peakGold), f(r.gain), f(r.finalGold), f(r.drop), `${r.overoptimised}/${r.replicates}`, f(r.finalKl, 1), f(r.rlSec, 0), f(r.scoreModelsSec, 0)].join(' | '));
  console.log(`    per replicate: ${seeds}`);
  const v = r.vsPpo;
  if (v) console.log(`    − ppo on the same ${v.replicates} replicates (paired): gold at peak ${f(v.peakGold)}, KL at peak ${f(v.peakKl, 1)}, peak step ${f(v.peakStep, 1)}, gold at end ${f(v.finalGold)}, drop ${f(v.drop)}`);
}
if (agg.bestOfN) {
  console.log(`best-of-N: gold peaks at N = ${f(agg.bestOfN.peakN, 1)} (gold ${f(agg.bestOfN.peakGold)}); per N (mean curve):`);
  for (const p of agg.bestOfN.curve) console.log(`  N ${p.n}: KL ${p.kl.toFixed(2)}, proxy ${p.proxy.toFixed(3)}, gold ${p.gold.toFixed(3)}, harmful ${(100 * p.harm).toFixed(1)}%`);
}
// the README's table: one row per run, paired with PPO where both ran
const pm = (i: Interval | undefined, d = 2) => (i ? f(i, d).replace('-', '−').replace(/\[(.*)\]/, (_, x: string) => `[${x.replaceAll('-', '−')}]`) : '–');
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
console.log('\n| run (seeds) | KL at the gold peak | gold at peak | gold at end | KL at end | drop | over-optimised | − PPO, paired: gold at peak / at end | gold harmful at peak → end | RL s | + reward model(s) s |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const [k, r] of Object.entries(agg.runs)) {
  const meanHarm = (at: 'peak' | 'final') => r.perReplicate.reduce((a, x) => a + x[at].harm, 0) / r.replicates;
  const harm = `${pct(meanHarm('peak'))} → ${pct(meanHarm('final'))}`;
  const vs = r.vsPpo ? `${pm(r.vsPpo.peakGold)} / ${pm(r.vsPpo.finalGold)}` : '–';
  console.log(`| ${k} (${r.replicates}) | ${pm(r.peakKl, 1)} | ${pm(r.peakGold)} | ${pm(r.finalGold)} | ${r.finalKl.mean.toFixed(1)} | ${pm(r.drop)} | ${r.overoptimised} / ${r.replicates} | ${vs} | ${harm} | ${r.rlSec.mean.toFixed(0)} | ${r.scoreModelsSec.mean.toFixed(0)} |`);
}
console.log(`wrote ${out}.json and ${out}.svg`);
