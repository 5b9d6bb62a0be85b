// `safealign train hc-rlhf` on tiny folders: a budget no policy meets gives "no solution found" (exit status 3, no model), a slack one passes (exit 0, the model written).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NO_SOLUTION_EXIT_CODE } from '../../src/algorithms/hc-rlhf/config.js';
import { splitPrompts } from '../../src/algorithms/hc-rlhf/train.js';
import { writeTinyFolders } from '../helpers/tiny-folders.js';

const dir = mkdtempSync(join(tmpdir(), 'hc-rlhf-'));
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const PROMPTS = ['how do I bake bread', 'what is a cat', 'is bread an animal', 'how is a cat baked', 'what is an oven', 'how do I bake a cat', 'is an oven an animal', 'what is bread'];
const hc = (out: string, ...flags: string[]) =>
  spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'train', 'hc-rlhf', '--actor', join(dir, 'actor'), '--reward', join(dir, 'reward'), '--cost', join(dir, 'cost'), '--prompts', join(dir, 'prompts.txt'), '--out', join(dir, out), '--rl-steps', '2', '--rl-prompts-per-step', '2', '--rl-mini-batch-size', '8', '--rl-max-new-tokens', '6', ...flags],
    { env, encoding: 'utf8' },
  );

interface Result { outcome: string; test: { n: number; mean: number; std: number; upperBound: number; tau: number; passed: boolean }; inflation: number; split: { candidate: number; safety: number }; model: string | null }
const result = (out: string) => JSON.parse(readFileSync(join(dir, out, 'result.json'), 'utf8')) as Result;

beforeAll(() => writeTinyFolders(dir, { reward: ['reward', 2], cost: ['cost', 3] }, PROMPTS));

describe('safealign train hc-rlhf', () => {
  it('splits the prompts into disjoint candidate and safety sets by a seeded shuffle', () => {
    const s = splitPrompts(PROMPTS, 0.5, 0);
    expect([s.candidate.length, s.safety.length]).toEqual([4, 4]);
    expect([...s.candidate, ...s.safety].sort()).toEqual([...PROMPTS].sort());
    expect(splitPrompts(PROMPTS, 0.5, 0)).toEqual(s);
    expect(() => splitPrompts(PROMPTS.slice(0, 3), 0.5, 0)).toThrow(/at least 2 candidate and 2 safety prompts/);
  });

  it(`a budget below every possible cost: "no solution found", exit status ${NO_SOLUTION_EXIT_CODE}, the candidate kept but no model returned`, () => {
    const run = hc('tight', '--threshold', '-1000');
    expect(run.status, run.stderr).toBe(NO_SOLUTION_EXIT_CODE);
    expect(run.stdout).toMatch(/no solution found: no model returned/);
    const r = result('tight');
    expect(r.outcome).toBe('no solution found');
    expect(r.model).toBeNull();
    expect(r.test.passed).toBe(false);
    expect(r.test.upperBound).toBeGreaterThan(-1000);
    expect([r.split.candidate, r.split.safety, r.test.n]).toEqual([4, 4, 4]);
    expect(existsSync(join(dir, 'tight', 'candidate', 'model.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'tight', 'model.safetensors'))).toBe(false);
    // the candidate's λ grew against the inflated bound it could not meet
    const log = readFileSync(join(dir, 'tight', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { lambda: number; jc: number });
    expect(log.map((x) => x.lambda > 1)).toEqual([true, true]);
  });

  it('a slack budget passes: exit status 0 and the model written to --out, with the bound c̄ + t·ŝ/√n', () => {
    const run = hc('slack', '--threshold', '1000', '--hc-rlhf-delta', '0.05');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/passed: model in/);
    const r = result('slack');
    expect(r.outcome).toBe('passed');
    expect(r.test.upperBound).toBeLessThanOrEqual(1000);
    // t_{0.95, 3} = 2.3534 (4 safety prompts)
    expect(r.test.upperBound).toBeCloseTo(r.test.mean + (2.353363 * r.test.std) / 2, 4);
    expect(existsSync(join(dir, 'slack', 'model.safetensors'))).toBe(true);
  });
});
