// `safealign generate --json` reproduces the PyTorch reference's greedy continuation of tiny-gpt2.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const golden = JSON.parse(readFileSync('reference/golden/models.json', 'utf8')) as { 'tiny-gpt2': { greedy: number[][] } };

describe('safealign generate', () => {
  it('prints tokens, text and per-token natural-log probabilities', () => {
    // reference row 0 is the left-padded prompt [5, 9, 13, 7] = "w1 w5 w9 w3" (word wN has id N + 4)
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'generate', '--model', 'reference/golden/tiny-gpt2', '--prompt', 'w1 w5 w9 w3', '--raw', '--greedy', '--max-new-tokens', '6', '--json'],
      { encoding: 'utf8' },
    );
    const r = JSON.parse(out) as { tokens: number[]; text: string; logprobs: number[] };
    expect(r.tokens).toEqual(golden['tiny-gpt2'].greedy[0]);
    expect(r.text.split(' ')).toEqual(r.tokens.map((t) => `w${t - 4}`));
    expect(r.logprobs).toHaveLength(6);
    for (const lp of r.logprobs) expect(lp).toBeLessThan(0);
  });
});
