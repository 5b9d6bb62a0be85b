// The multi-seed report: report.json's seeds/aggregate/paired differences, and report.html as headless Chromium renders it.
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { PipelineConfigSchema } from '../../src/pipeline/config.js';
import type { ModelMetrics, ReplicateResult } from '../../src/pipeline/seeds-aggregate.js';
import { writeSeedsReport, type SeedsReport } from '../../src/pipeline/seeds-report.js';
import { summariseWorldGuarantee, type WorldRun } from '../../src/pipeline/hc-guarantee-world.js';
import { goldPeak, overoptCurve } from '../../src/eval/overoptimisation.js';
import { aggregateOveroptimisation } from '../../src/pipeline/overoptimisation-seeds.js';
import type { OveroptimisationResult } from '../../src/pipeline/overoptimisation.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

// Five seeds shaped like the measurements (harmful rate, helpfulness, held-out harmful rate, held-out helpfulness).
const table: Record<string, [number, number, number, number][]> = {
  sft: [[0.513, 3.47, 0.55, 3.1], [0.49, 3.55, 0.5, 3.2], [0.5, 3.45, 0.52, 3.0], [0.47, 3.5, 0.5, 3.1], [0.52, 3.6, 0.56, 3.3]],
  ppo: [[0.941, 3.99, 0.95, 3.5], [0.954, 2.9, 0.96, 2.6], [0.882, 3.4, 0.9, 3.0], [0.9, 3.1, 0.92, 2.8], [0.93, 3.6, 0.95, 3.2]],
  'shaping_0.5': [[0.072, 3.32, 0.1, 3.0], [0.09, 2.54, 0.12, 2.3], [0.08, 3.0, 0.1, 2.7], [0.06, 3.1, 0.09, 2.8], [0.1, 2.9, 0.12, 2.6]],
  shaping_2: [[0.013, 3.13, 0.03, 2.9], [0.02, 3.01, 0.04, 2.8], [0.015, 2.9, 0.03, 2.7], [0.01, 3.2, 0.02, 3.0], [0.02, 3.0, 0.04, 2.8]],
  ppo_lag: [[0.059, 3.63, 0.08, 3.3], [0.026, 3.97, 0.05, 3.6], [0.033, 4.0, 0.05, 3.7], [0.04, 3.8, 0.06, 3.5], [0.03, 3.9, 0.05, 3.6]],
  round_1: [[0.046, 2.45, 0.07, 2.2], [0.046, 3.59, 0.06, 3.3], [0.026, 3.14, 0.04, 2.9], [0.03, 3.3, 0.05, 3.0], [0.04, 3.4, 0.06, 3.1]],
};
const results: ReplicateResult[] = Array.from({ length: 5 }, (_, k) => ({
  replicate: k,
  dir: `seed_${k}`,
  seed: k,
  worldSeed: 1234,
  costThreshold: -2.5 + k / 10,
  wallTimeSec: 800 + k,
  models: Object.fromEntries(
    Object.entries(table).map(([name, rows]): [string, ModelMetrics] => {
      const [h, help, hh, hhelp] = rows[k] as [number, number, number, number];
      return [name, { harmfulRate: h, helpfulness: help, meanReward: help - 3, meanCost: 4 * h - 2, kl: name === 'sft' ? 0 : 4 + k, heldOut: { harmfulRate: hh, helpfulness: hhelp } }];
    }),
  ),
}));

describe('multi-seed report', () => {
  it('writes seeds, aggregate {mean, lo, hi} and paired differences, and an offline HTML page that renders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seeds-report-'));
    const config = PipelineConfigSchema.parse({ name: 'seeds5', seeds: 5 });
    await writeSeedsReport(dir, results, config, { invocationWallTimeSec: 4100 });
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SeedsReport;
    expect(json.nSeeds).toBe(5);
    expect(json.seeds).toHaveLength(5);
    expect(json.seeds[1]?.models.ppo_lag?.harmfulRate).toBe(0.026);
    for (const [name, agg] of Object.entries(json.aggregate)) {
      for (const metric of ['harmfulRate', 'helpfulness', 'meanReward', 'meanCost', 'kl', 'heldOut'] as const) expect(agg[metric], `${name}.${metric}`).toBeDefined();
      const h = agg.harmfulRate;
      expect(h.lo as number).toBeLessThan(h.mean);
      expect(h.hi as number).toBeGreaterThan(h.mean);
    }
    // PPO-Lag harmful 5.9, 2.6, 3.3, 4.0, 3.0% -> mean 3.76%, t_{0.975,4} = 2.776
    const lag = json.aggregate.ppo_lag?.harmfulRate;
    expect(lag?.mean).toBeCloseTo(0.0376, 12);
    const xs = table.ppo_lag?.map((r) => r[0]) as number[];
    const sd = Math.sqrt(xs.reduce((a, x) => a + (x - 0.0376) ** 2, 0) / 4);
    expect(lag?.hi).toBeCloseTo(0.0376 + (2.7764451051977934 * sd) / Math.sqrt(5), 10);
    const pairs = new Set(json.pairedDifferences.map((d) => `${d.a}-${d.b}:${d.metric}`));
    for (const p of ['ppo_lag-sft', 'ppo_lag-shaping_0.5', 'ppo_lag-shaping_2', 'round_1-ppo_lag', 'round_1-sft']) {
      for (const metric of ['harmfulRate', 'helpfulness', 'heldOut.harmfulRate', 'heldOut.helpfulness']) expect(pairs.has(`${p}:${metric}`), `${p}:${metric}`).toBe(true);
    }

    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html.match(/<svg[\s>]/g)?.length).toBe(1);
    expect([...html.matchAll(/(?:src|href)\s*=\s*["']?(https?:)/g)]).toHaveLength(0);
    expect(html).toContain('Models over 5 seeds');
    expect(html).toContain('n − 1 = 4 degrees of freedom');
    expect(html).toContain('ppo_lag − sft');
    expect(html).toContain('href="seed_4/report.html"');

    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh --tests does)`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`file://${join(dir, 'report.html')}`);
      const sections = await page.locator('section h2').allTextContents();
      expect(sections).toEqual(['Models over 5 seeds', 'Paired differences', 'Trade-off frontier over seeds', 'Per-seed results', 'Wall time', 'Resolved config']);
      // 6 models × 5 seeds per-seed rows; the frontier's SVG is laid out at its full size.
      expect(await page.locator('section:has(h2:text("Per-seed results")) tbody tr').count()).toBe(30);
      const box = await page.locator('svg').first().boundingBox();
      expect(box?.width).toBeGreaterThan(500);
      expect(box?.height).toBeGreaterThan(300);
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, 'seeds-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 60_000);

  it("pools the replicates' hc_guarantee tables into one per-δ table (report.json and a section of report.html)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seeds-report-hc-'));
    const config = PipelineConfigSchema.parse({ name: 'seeds5', seeds: 5 });
    const run = (arm: WorldRun['arm'], seed: number, passed: boolean, trueCost: number): WorldRun => ({ arm, seed, delta: 0.1, passed, trueCost, trueReward: 3, helpfulness: 3, upperBound: 0, inflation: 0.2, testMean: 0, testStd: 0, trainSec: 0, evalSec: 0, rounds: 1, trueCostSe: 0.01, trueCostTrain: 0, trueCostFresh: 0, unsafeShare: 0, harmfulRate: 0, meanReward: 0, kl: 0, n: 1, safetyCosts: [-1, -2, -1.5] });
    // replicates 0 and 1 ran the study: 2 + 2 seeds, HC-RLHF returned 1 + 2 models, one of them above τ
    const rows = (k: number, hc: [boolean, number][]) => summariseWorldGuarantee(hc.flatMap(([passed, cost], i) => [run('hc_rlhf', 1000 * k + i, passed, cost), run('uninflated', 1000 * k + i, true, cost)]), { tau: 0, goldBudget: 0.05 }, [0.1]);
    const withStudy = results.map((r, k) => (k === 0 ? { ...r, hcGuarantee: rows(0, [[true, -1], [false, 1]]) } : k === 1 ? { ...r, hcGuarantee: rows(1, [[true, 0.5], [true, -0.2]]) } : r));
    await writeSeedsReport(dir, withStudy, config, { invocationWallTimeSec: 1 });
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SeedsReport;
    expect(json.hcGuarantee?.replicates).toBe(2);
    expect(json.hcGuarantee?.results[0]?.hcRlhf).toMatchObject({ seeds: 4, returned: 3, failures: 1, failureRate: 0.25 });
    expect(json.hcGuarantee?.results[0]?.seeds).toEqual([0, 1, 1000, 1001]);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('HC-RLHF&#39;s guarantee over 2 replicates: failure rate per δ');
    expect(html).toMatch(/<td>4<\/td><td>3<\/td><td>1<\/td><td>1 of 4: 25\.0%/);
    // without the study, no section
    await writeSeedsReport(dir, results, config, { invocationWallTimeSec: 1 });
    expect((JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SeedsReport).hcGuarantee).toBeUndefined();
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).not.toContain('guarantee over');
  });

  it("aggregates the replicates' MiCRo per-type accuracies (mean, t-interval, MiCRo − BT paired) into a section", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seeds-report-micro-'));
    const config = PipelineConfigSchema.parse({ name: 'seeds5', seeds: 5 });
    const acc = (micro: number, single: number) => ({ n: 300, micro, microUnrouted: single, single });
    const withMicro = results.map((r, k) => (k < 3 ? { ...r, micro: { brief: acc(0.6 + k / 100, 0.5), all: acc(0.7, 0.68 - k / 100) } } : r));
    await writeSeedsReport(dir, withMicro, config, { invocationWallTimeSec: 1 });
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SeedsReport;
    expect(json.micro?.replicates).toBe(3);
    expect(json.micro?.byGroup.brief?.micro.mean).toBeCloseTo(0.61, 12);
    expect(json.micro?.byGroup.all?.microMinusSingle.mean).toBeCloseTo(0.03, 12);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('MiCRo vs one Bradley–Terry head per annotator type over 3 replicates');
    expect(html).toMatch(/<td>brief<\/td><td>300<\/td><td>61\.0%/);
  });

  it('aggregates the replicates\' over-optimisation runs (t-intervals, paired with PPO) into a section with the mean curves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seeds-report-overopt-'));
    const config = PipelineConfigSchema.parse({ name: 'seeds5', seeds: 5 });
    const log = (peakAt: number) => Array.from({ length: 8 }, (_, i) => ({ step: i + 1, reward: 0.1 * (i + 1), kl: i + 1, goldHelpfulness: 3 - (i + 1 - peakAt) ** 2 / 10, goldHarmfulRate: 0.5 }));
    const run = (peakAt: number) => {
      const curve = overoptCurve(log(peakAt), 2);
      return { curve, peak: goldPeak(curve, 0.1), rlSec: 10, scoreModelsSec: 5 };
    };
    const overopt = (k: number): OveroptimisationResult => ({ klCoef: 0.01, runs: { ppo: run(2 + k), worst: run(4 + k) } });
    const withStudy = results.map((r, k) => (k < 3 ? { ...r, overoptimisation: overopt(k) } : r));
    await writeSeedsReport(dir, withStudy, config, { invocationWallTimeSec: 1 });
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SeedsReport;
    expect(json.overoptimisation).toEqual(JSON.parse(JSON.stringify(aggregateOveroptimisation([0, 1, 2].map(overopt)))));
    expect(json.overoptimisation?.runs.worst?.vsPpo?.replicates).toBe(3);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('Reward over-optimisation over 3 replicates');
    expect(html).toContain('<td>worst (3)</td>');
  });
});
