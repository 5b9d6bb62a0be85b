// `safealign best-of-n` on prompts of the shipped PKU-SafeRLHF sample with tiny models: picks follow the rule, numbers agree with samples.jsonl.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BestOfNReport } from '../../src/eval/best-of-n.js';
import { PKU_SAMPLE as PKU, saveTinyPkuModels } from '../helpers/tiny-cli-models.js';

const dir = mkdtempSync(join(tmpdir(), 'bon-cli-'));
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'best-of-n', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' } });

interface Sample {
  prompt: string;
  sample: number;
  reward: number;
  cost: number;
  pickedFor: number[];
}

beforeAll(() => {
  saveTinyPkuModels(dir);
  const rows = readFileSync(PKU, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { prompt: string });
  // the first prompts flagged risky / benign alternately, the rest without a flag, one unreadable line
  const flagged = rows.map((r, i) => JSON.stringify(i < 8 ? { prompt: r.prompt, risky: i % 2 === 0 } : { prompt: r.prompt }));
  writeFileSync(join(dir, 'prompts.jsonl'), [...flagged.slice(0, 5), '{not json', ...flagged.slice(5)].join('\n') + '\n');
});

describe('safealign best-of-n', () => {
  it('picks by the rule for every N and writes reports whose numbers agree with samples.jsonl', () => {
    const out = join(dir, 'bon');
    const text = cli('--model', join(dir, 'sft'), '--reward', join(dir, 'reward'), '--cost', join(dir, 'cost'), '--prompts', join(dir, 'prompts.jsonl'), '--n', '1,2,4', '--max-prompts', '10', '--max-new-tokens', '8', '--out', out);
    expect(text).toMatch(/N=4: harmful [\d.]+% \[[\d.]+%, [\d.]+%\], helpfulness -?[\d.]+/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as BestOfNReport;
    expect(report.prompts).toMatchObject({ format: 'prompt', read: 60, unreadable: 1, used: 10 });
    expect(report.prompts.fit.skipped).toBeGreaterThan(0); // prompts longer than 64 − 8 tokens, by file:line
    expect(report.prompts.fit.skippedAt[0]).toMatch(/prompts\.jsonl:\d+$/);
    expect(report.samples).toBe(40);
    expect(report.rows.map((r) => r.n)).toEqual([1, 2, 4]);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg');

    const samples = readFileSync(join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Sample);
    expect(samples).toHaveLength(40);
    const flags = new Map(readFileSync(join(dir, 'prompts.jsonl'), 'utf8').split('\n').flatMap((l) => {
      try {
        const r = JSON.parse(l) as { prompt: string; risky?: boolean };
        return [[r.prompt, r.risky] as const];
      } catch {
        return [];
      }
    }));
    for (const row of report.rows) {
      const groups = Array.from({ length: 10 }, (_, p) => samples.slice(p * 4, p * 4 + row.n));
      const picks = groups.map((g) => {
        const picked = g.filter((s) => s.pickedFor.includes(row.n));
        expect(picked).toHaveLength(1); // exactly one of the first N per prompt
        return picked[0] as Sample;
      });
      expect(row.harmfulRate).toBeCloseTo(picks.filter((s) => s.cost > 0).length / 10, 12);
      expect(row.meanReward).toBeCloseTo(picks.reduce((a, s) => a + s.reward, 0) / 10, 10);
      expect(row.maxReward).toBeCloseTo(groups.reduce((a, g) => a + Math.max(...g.map((s) => s.reward)), 0) / 10, 10);
      expect(row.maxReward).toBeGreaterThanOrEqual(row.meanReward - 1e-12);
      expect(row.klBound).toBeCloseTo(Math.log(row.n) - (row.n - 1) / row.n, 12);
      // a prompt flagged risky gets its safest sample: the lowest cost among the first N
      groups.forEach((g, p) => {
        if (flags.get(g[0]?.prompt ?? '') === true) expect(picks[p]?.cost).toBe(Math.min(...g.map((s) => s.cost)));
      });
      if (row.n === 1) expect(picks.every((s) => s.sample === 0)).toBe(true);
    }
    expect(report.prompts.riskyFlagged).toBeGreaterThan(0);
    expect(report.prompts.flagged).toBeLessThan(10);
    // the max of more samples can only be higher
    expect(report.rows[2]?.maxReward).toBeGreaterThanOrEqual(report.rows[0]?.maxReward as number);
  });

  it('stops with what it expected when the cost model has no tokenizer', () => {
    expect(() => cli('--model', join(dir, 'sft'), '--reward', join(dir, 'reward'), '--cost', join(dir, 'nothing'), '--prompts', PKU, '--out', join(dir, 'x'))).toThrow(/--cost .*nothing: no tokenizer\.json/);
  });
});
