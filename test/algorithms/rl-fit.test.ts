// RL prompts that leave no room for maxNewTokens in the models' context are skipped, counted and named; the rest train as if they were alone.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainRl, type RlPrompt } from '../../src/algorithms/rl/train.js';
import { tinyConfig, tinyMethod, tinyModels, tinyPrompts, tinyPtx } from './rl-tiny.js';

const longPrompt = Array.from({ length: 60 }, () => 'the').join(' ');
const run = (prompts: RlPrompt[], ptx = tinyPtx) => {
  const method = tinyMethod('ppo_lag');
  const { tokenizer, models } = tinyModels(method);
  return trainRl({ method, models, tokenizer, prompts, ptxData: ptx, config: tinyConfig({ steps: 2 }), outDir: mkdtempSync(join(tmpdir(), 'rl-fit-')) });
};

describe('trainRl on prompts longer than the context', () => {
  it('skips a prompt with no room for maxNewTokens (context 64 − 6), names it, and trains on the others exactly as without it', () => {
    const ptx = [...tinyPtx, { prompt: 'tell me', response: longPrompt }];
    const withLong = run([...tinyPrompts, { prompt: longPrompt, risky: false, source: 'prompts.txt:7' }], ptx);
    expect(withLong.truncation.prompts).toEqual({ maxLength: 58, total: 7, truncated: 0, skipped: 1, skippedAt: ['prompts.txt:7'] });
    expect(withLong.truncation.ptx).toMatchObject({ maxLength: 64, total: 7, truncated: 1, skipped: 0 });
    const alone = run(tinyPrompts, ptx);
    expect(alone.truncation.prompts.skipped).toBe(0);
    expect(withLong.log.map((r) => [r.reward, r.cost, r.kl])).toEqual(alone.log.map((r) => [r.reward, r.cost, r.kl]));
  });

  it('stops with a clear error when no prompt fits', () => {
    expect(() => run([{ prompt: longPrompt, risky: false }])).toThrow(/none of the 1 prompts fits: each is longer than 58 tokens \(the models' context 64 minus maxNewTokens 6\)/);
  });
});
