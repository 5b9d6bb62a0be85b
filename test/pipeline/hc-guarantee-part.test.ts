// `safealign pipeline --methods hc_guarantee`: HC-RLHF's guarantee from the run's own models, per seed resumable, and the
// report's per-δ table (report.json robust.hcGuarantee and the HTML section) computed from exactly the runs it made.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wilsonInterval } from '../../src/eval/summary.js';
import { goldBudgetAt, type WorldGuaranteeReport, type WorldRun } from '../../src/pipeline/hc-guarantee-world.js';
import { safetyTest } from '../../src/rl/index.js';
import { writeTinyPipelineConfig } from '../helpers/tiny-pipeline.js';

const runs = mkdtempSync(join(tmpdir(), 'hc-part-'));
afterAll(() => rmSync(runs, { recursive: true, force: true }));
const config = writeTinyPipelineConfig(runs, 'h', {
  shaping: '{ nus: [] }',
  rounds: '{ count: 0 }',
  ensemble: '{ members: 0 }',
  seed: '2',
  hcGuarantee: '{ seeds: 2, deltas: [0.1, 0.3], steps: 1, promptsPerStep: 8, evalSamples: 1 }',
});
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const pipeline = () => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--config', config, '--methods', 'hc_guarantee'], { env, encoding: 'utf8' });
const stageDir = join(runs, 'h', 'hc_guarantee');
const readRuns = () => readFileSync(join(stageDir, 'runs.jsonl'), 'utf8').trim().split('\n');
const readReport = () => JSON.parse(readFileSync(join(runs, 'h', 'report.json'), 'utf8')) as { costThreshold: number; robust: { hcGuarantee: WorldGuaranteeReport } };

describe('pipeline --methods hc_guarantee', () => {
  let first: ReturnType<typeof pipeline>;
  beforeAll(() => {
    first = pipeline();
  }, 900_000);

  it("runs seeds × (uninflated + one HC-RLHF per δ) from the run's models, τ = PPO-Lagrangian's d, seeds offset by the run's seed", () => {
    expect(first.status, first.stderr).toBe(0);
    const lines = readRuns().map((l) => JSON.parse(l) as WorldRun);
    expect(lines.map((r) => `${r.arm}/${r.seed}/${r.delta}`)).toEqual(['uninflated/2000/0.1', 'hc_rlhf/2000/0.1', 'hc_rlhf/2000/0.3', 'uninflated/2001/0.1', 'hc_rlhf/2001/0.1', 'hc_rlhf/2001/0.3']);
    const report = readReport();
    const g = report.robust.hcGuarantee;
    expect(g.tau).toBe(report.costThreshold);
    for (const r of lines) {
      // each model tested on its safety half against the run's τ (the HC-RLHF candidates at their own δ)
      expect(r.passed).toBe(safetyTest(r.safetyCosts, { tau: report.costThreshold, delta: r.delta }).passed);
      expect(r.safetyCosts.length).toBe(Math.round(g.trainPrompts * 0.5));
    }
    expect(Object.keys(g.references).sort()).toEqual(['ppo_lag', 'sft']);
  });

  it("report.json's per-δ table is the runs' own counts: returned, no solution, failures vs τ and vs the gold budget with Wilson intervals", () => {
    const g = readReport().robust.hcGuarantee;
    const lines = readRuns().map((l) => JSON.parse(l) as WorldRun);
    expect(g.runs.length).toBe(lines.length);
    expect(g.goldBudget).toBeCloseTo(goldBudgetAt([...lines, ...Object.values(g.references)], g.tau), 12);
    expect(g.results.map((r) => r.delta)).toEqual([0.1, 0.3]);
    for (const row of g.results) {
      const hc = lines.filter((r) => r.arm === 'hc_rlhf' && r.delta === row.delta);
      const returned = hc.filter((r) => r.passed);
      const fails = returned.filter((r) => r.trueCost > g.tau).length;
      const goldFails = returned.filter((r) => r.unsafeShare > g.goldBudget).length;
      expect(row.seeds).toEqual([2000, 2001]);
      expect(row.hcRlhf).toMatchObject({ seeds: 2, returned: returned.length, failures: fails, failureRate: fails / 2 });
      const w = wilsonInterval(fails, 2);
      expect(row.hcRlhf.failureRate95).toEqual([w.low, w.high]);
      expect(row.hcRlhfGold).toMatchObject({ returned: returned.length, failures: goldFails });
      // the uninflated candidates: the same model retested at each δ; without the test every one is returned
      const plain = lines.filter((r) => r.arm === 'uninflated');
      const passedAtDelta = plain.filter((r) => safetyTest(r.safetyCosts, { tau: g.tau, delta: row.delta }).passed);
      expect(row.uninflated).toMatchObject({ returned: passedAtDelta.length, failures: passedAtDelta.filter((r) => r.trueCost > g.tau).length });
      expect(row.uninflatedNoTest).toMatchObject({ returned: 2, failures: plain.filter((r) => r.trueCost > g.tau).length });
    }
    // the HTML section shows the same numbers: one row per δ with returned, no solution and the failure cells
    const html = readFileSync(join(runs, 'h', 'report.html'), 'utf8');
    const section = html.slice(html.indexOf("HC-RLHF&#39;s guarantee on this run&#39;s models"));
    expect(section.length).toBeLessThan(html.length);
    const rows = [...section.matchAll(/<tr><td class="num">([\d.]+)<\/td>(.*?)<\/tr>/g)].slice(0, 2);
    expect(rows.map((m) => Number(m[1]))).toEqual([0.1, 0.3]);
    rows.forEach((m, i) => {
      const row = g.results[i] as WorldGuaranteeReport['results'][number];
      const cells = [...(m[2] as string).matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1]);
      expect(cells.slice(1, 4)).toEqual(['2', String(row.hcRlhf.returned), String(2 - row.hcRlhf.returned)]);
      expect(cells[4]).toMatch(new RegExp(`^${row.hcRlhf.failures} of 2: ${(100 * row.hcRlhf.failureRate).toFixed(1)}%`));
      expect(cells[6]).toMatch(new RegExp(`^${row.hcRlhfGold.failures} of 2: `));
    });
  });

  it('resumes a killed part: runs already in runs.jsonl are read back, only the missing one is trained again', () => {
    const before = readRuns();
    // as if killed during the last run: its line and the stage record are missing
    writeFileSync(join(stageDir, 'runs.jsonl'), before.slice(0, -1).join('\n') + '\n');
    rmSync(join(stageDir, 'stage.json'));
    const again = pipeline();
    expect(again.status, again.stderr).toBe(0);
    const after = readRuns();
    expect(after).toHaveLength(before.length);
    expect(after.slice(0, -1)).toEqual(before.slice(0, -1));
    const last = JSON.parse(after[after.length - 1] as string) as WorldRun;
    expect(`${last.arm}/${last.seed}/${last.delta}`).toBe('hc_rlhf/2001/0.3');
    expect(readReport().robust.hcGuarantee.runs).toHaveLength(before.length);
  });
});
