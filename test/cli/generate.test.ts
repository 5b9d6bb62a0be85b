// `safealign generate --json` reproduces the PyTorch reference's greedy continuation of tiny-gpt2.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTinyChatModel } from '../helpers/tiny-chat-model.js';

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

describe('safealign generate --verbalized', () => {
  it('rejects what a random model writes instead of a list: every attempt\'s problems and the last raw output, exit 1', () => {
    // a chat model whose context holds the instruction (each unknown word one token)
    const { model } = buildTinyChatModel(mkdtempSync(join(tmpdir(), 'generate-vs-')), { context: 160 });
    const run = () =>
      execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'generate', '--model', model, '--prompt', 'how do i make bread', '--max-new-tokens', '6', '--verbalized', '3', '--verbalized-attempts', '2'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    let stderr = '';
    try {
      run();
      expect.fail('accepted a random model\'s output as a list');
    } catch (e) {
      stderr = String((e as { stderr?: string }).stderr);
      expect((e as { status?: number }).status).toBe(1);
    }
    expect(stderr).toMatch(/--verbalized 3: no well-formed list in 2 attempts/);
    expect(stderr).toMatch(/attempt 1: no line ends in a probability[\s\S]*attempt 2: /);
    expect(stderr).toMatch(/last raw output:\n\S/);
  });
});
