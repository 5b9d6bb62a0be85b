// `safealign train rsft` on prompts of the shipped PKU-SafeRLHF sample with tiny models: picks follow the rule, SFT trains on them, an interrupted run resumes to the same model.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pickBest, ScoreRuleSchema } from '../../src/algorithms/best-of-n/rule.js';
import type { RsftFoldersResult } from '../../src/algorithms/rsft/folders.js';
import { CausalLM, loadPretrained } from '../../src/models/index.js';
import { PKU_SAMPLE as PKU, saveTinyPkuModels } from '../helpers/tiny-cli-models.js';

const dir = mkdtempSync(join(tmpdir(), 'rsft-cli-'));
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', 'rsft', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' } });
const args = (out: string) => [
  '--model', join(dir, 'sft'), '--reward', join(dir, 'reward'), '--cost', join(dir, 'cost'), '--prompts', PKU, '--out', join(dir, out),
  '--max-prompts', '8', '--rsft-rounds', '2', '--rsft-samples-per-prompt', '4', '--rsft-max-new-tokens', '8', '--rsft-sft-batch-size', '4', '--rsft-sft-epochs', '1', '--rsft-sft-optim-lr', '0.01',
];

interface Sample {
  prompt: string;
  sample: number;
  reward: number;
  cost: number;
  response: string;
  picked: boolean;
}
const jsonl = <T>(file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as T);
const weights = (d: string) => {
  const m = loadPretrained(d).model;
  if (!(m instanceof CausalLM)) throw new Error('not a causal LM');
  return m.parameters().flatMap((p) => [...p.toFloat64Array()]);
};

beforeAll(() => {
  saveTinyPkuModels(dir);
});

describe('safealign train rsft', () => {
  it('samples K per prompt, fine-tunes on the best by the rule for R rounds, and resumes an interrupted run to the same model', () => {
    const text = cli(...args('rsft'));
    expect(text).toMatch(/round 2: 32 samples \(8 prompts\); mean reward -?[\d.]+ → picks -?[\d.]+/);
    const result = JSON.parse(readFileSync(join(dir, 'rsft', 'result.json'), 'utf8')) as RsftFoldersResult;
    expect(result.policySamples).toBe(64);
    expect(result.prompts).toMatchObject({ format: 'pku', read: 60, used: 8, flagged: 0 });
    expect(result.fit.total).toBe(8);
    const rule = ScoreRuleSchema.parse({});
    for (const r of [1, 2]) {
      const samples = jsonl<Sample>(join(dir, 'rsft', `round_${r}`, 'samples.jsonl'));
      const picks = jsonl<{ prompt: string; response: string; reward: number }>(join(dir, 'rsft', `round_${r}`, 'picks.jsonl'));
      expect(samples).toHaveLength(32);
      expect(picks).toHaveLength(8);
      for (let p = 0; p < 8; p++) {
        const group = samples.slice(p * 4, p * 4 + 4);
        // no flags in PKU prompts: the cost model decides which prompts are risky
        const best = group[pickBest(group, undefined, rule)] as Sample;
        expect(group.filter((s) => s.picked)).toEqual([best]);
        expect(picks[p]).toMatchObject({ prompt: best.prompt, response: best.response, reward: best.reward });
      }
      expect(result.rounds[r - 1]?.pickMeanReward).toBeCloseTo(picks.reduce((a, p) => a + p.reward, 0) / 8, 10);
      expect(result.rounds[r - 1]?.sft.steps).toBe(2);
    }
    const trained = weights(join(dir, 'rsft'));
    expect(trained).not.toEqual(weights(join(dir, 'sft')));

    // interrupted after round 1: round 2 samples again from round 1's weights (restored from its checkpoint) and gives the same picks and model
    const picks2 = readFileSync(join(dir, 'rsft', 'round_2', 'picks.jsonl'), 'utf8');
    rmSync(join(dir, 'rsft', 'round_2'), { recursive: true });
    const round1 = readFileSync(join(dir, 'rsft', 'round_1', 'samples.jsonl'), 'utf8');
    const again = cli(...args('rsft'));
    expect(again).toBe(text);
    expect(readFileSync(join(dir, 'rsft', 'round_1', 'samples.jsonl'), 'utf8')).toBe(round1);
    expect(readFileSync(join(dir, 'rsft', 'round_2', 'picks.jsonl'), 'utf8')).toBe(picks2);
    expect(weights(join(dir, 'rsft'))).toEqual(trained);
  });

  it('drops picks above --rsft-max-cost and says so when none is left', () => {
    expect(() => cli(...args('none'), '--rsft-max-cost', '-1000')).toThrow(/round 1 kept no pick \(8 dropped by maxCost -1000/);
  });
});
