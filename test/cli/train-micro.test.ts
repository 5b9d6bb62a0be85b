// `safealign train micro` on the shipped PKU-SafeRLHF sample with an annotator column: bad records by file:line, cut pairs counted, routing and the mixture written.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMixture } from '../../src/algorithms/micro/model.js';
import { PKU_SAMPLE, pkuTexts, saveTinyFolders } from '../helpers/tiny-cli-models.js';

const dir = mkdtempSync(join(tmpdir(), 'train-micro-cli-'));
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' } });

beforeAll(() => {
  saveTinyFolders(dir, pkuTexts(), { base: { seed: 1 } });
  const lines = readFileSync(PKU_SAMPLE, 'utf8').split('\n').filter(Boolean);
  // annotators a0..a2 by line; line 5 names nobody, line 9 is not JSON
  const out = lines.map((l, i) => (i === 4 ? l : i === 8 ? '{broken' : JSON.stringify({ ...(JSON.parse(l) as object), rater: i % 3 === 0 ? 7 : `a${i % 3}` })));
  writeFileSync(join(dir, 'labels.jsonl'), `${out.join('\n')}\n`);
});

describe('safealign train micro', () => {
  it('trains K heads, skips records without an annotator, counts the cut pairs, routes every annotator and reports test accuracy', () => {
    const data = join(dir, 'labels.jsonl');
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', 'micro', '--model', join(dir, 'base'), '--train', data, '--test', data, '--out', join(dir, 'micro'), '--annotator-column', 'rater', '--micro-heads', '2', '--micro-batch-size', '8', '--micro-routing-pairs', '4'], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toMatch(/train: \d+ of 58 pairs truncated to 64 tokens.*; 3 annotators, 3 routed/);
    expect(out).toMatch(/micro \(2 heads\): test accuracy [\d.]+% over \d+ labels/);
    const routing = JSON.parse(readFileSync(join(dir, 'micro', 'routing.json'), 'utf8')) as Record<string, { headLoss: number[]; pairs: number }>;
    expect(Object.keys(routing).sort()).toEqual(['7', 'a1', 'a2']);
    for (const r of Object.values(routing)) {
      expect(r.headLoss).toHaveLength(2);
      expect(r.pairs).toBeLessThanOrEqual(4);
    }
    const result = JSON.parse(readFileSync(join(dir, 'micro', 'training_result.json'), 'utf8')) as { trainLabels: number; truncation: { train: { total: number; truncated: number } }; test: Record<string, { n: number }> };
    expect(result.trainLabels).toBe(58);
    expect(result.truncation.train.total).toBe(58);
    expect(result.truncation.train.truncated).toBeGreaterThan(0);
    expect(Object.keys(result.test).sort()).toEqual(['(all)', '7', 'a1', 'a2']);
    expect(loadMixture(join(dir, 'micro')).heads).toBe(2);
  }, 120_000);

  it('says which field to set when no record names an annotator', () => {
    expect(() => cli('train', 'micro', '--model', join(dir, 'base'), '--train', PKU_SAMPLE, '--out', join(dir, 'none'))).toThrow(/no record names an annotator in "annotator"; set --annotator-column/);
  }, 60_000);
});
