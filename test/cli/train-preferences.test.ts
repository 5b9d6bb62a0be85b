// `safealign train dpo|safe-dpo|sacpo` on the shipped PKU-SafeRLHF sample with a tiny GPT-2 whose context (64) cuts many records.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CausalLM, createCausalLM, loadPretrained, parseModelConfig, savePretrained, trainWordLevel } from '../../src/models/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { sharedData } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'train-pref-cli-'));
const pku = sharedData('pku_saferlhf_sample60.jsonl');
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' } });
const run = (method: string, out: string, ...flags: string[]) => cli('train', method, '--model', join(dir, 'base'), '--train', pku, '--out', join(dir, out), ...flags);

beforeAll(() => {
  const rows = readFileSync(pku, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
  const tok = trainWordLevel([...rows.flatMap((r) => [r.prompt, r.response_0, r.response_1] as string[]), 'BEGINNING OF CONVERSATION : USER ASSISTANT'], { vocabSize: 3000 });
  manualSeed(0);
  const model = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 1, n_head: 2, n_positions: 64, vocab_size: tok.vocabSize }));
  savePretrained(join(dir, 'base'), model, { tokenizer: tok });
});

interface Result {
  data: { records: number; withSafetyLabels: number };
  stages: Record<string, { steps: number; truncation: { total: number; truncated: number; skipped: number }; last: { margin: number }; test?: { n: number } }>;
}
const result = (out: string) => JSON.parse(readFileSync(join(dir, out, 'result.json'), 'utf8')) as Result;

describe('safealign train dpo|safe-dpo|sacpo', () => {
  it('dpo trains on PKU-SafeRLHF, counts the cut pairs, logs implicit rewards, and resumes a finished run', () => {
    const out = run('dpo', 'dpo', '--test', pku, '--dpo-epochs', '2', '--dpo-batch-size', '8', '--dpo-optim-lr', '0.003');
    expect(out).toMatch(/dpo: 16 steps; last step: loss [\d.]+, chosen reward -?[\d.]+, rejected reward -?[\d.]+, margin -?[\d.]+/);
    const r = result('dpo');
    expect(r.data.records).toBe(60);
    expect(r.stages.dpo?.truncation.total).toBe(60);
    expect(r.stages.dpo?.truncation.truncated).toBeGreaterThan(10);
    expect(r.stages.dpo?.truncation.skipped).toBeGreaterThan(0);
    expect(r.stages.dpo?.test?.n).toBe(60 - (r.stages.dpo?.truncation.skipped as number));
    const log = readFileSync(join(dir, 'dpo', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: string; chosenReward: number });
    expect(log).toHaveLength(16);
    expect(log[0]?.stage).toBe('dpo');
    expect(loadPretrained(join(dir, 'dpo')).model).toBeInstanceOf(CausalLM);
    expect(existsSync(join(dir, 'dpo', 'reference_logprobs.json'))).toBe(true);
    // the same command again: resumes at the end, no step repeated
    const again = run('dpo', 'dpo', '--dpo-epochs', '2', '--dpo-batch-size', '8', '--dpo-optim-lr', '0.003');
    expect(again).toMatch(/dpo: 16 steps/);
  });

  it('safe-dpo and sacpo (with the P-SACPO merge) train on the safety labels', () => {
    const safe = run('safe-dpo', 'safe', '--safe-dpo-delta', '2', '--safe-dpo-batch-size', '16');
    expect(safe).toMatch(/safe-dpo: 4 steps/);
    expect(result('safe').data.withSafetyLabels).toBe(60);
    const sacpo = run('sacpo', 'sacpo', '--sacpo-lambda', '2', '--sacpo-merge', '0.5', '--sacpo-helpful-batch-size', '16', '--sacpo-safety-batch-size', '16');
    expect(sacpo).toMatch(/helpful: 4 steps/);
    expect(sacpo).toMatch(/safety: \d+ steps/);
    for (const sub of ['', 'helpful', 'merged']) expect(loadPretrained(join(dir, 'sacpo', sub)).model).toBeInstanceOf(CausalLM);
  });

  it('safe-dpo on pairs without safety labels says what it needs', () => {
    expect(() => cli('train', 'safe-dpo', '--model', join(dir, 'base'), '--train', sharedData('hh_rlhf_harmless_sample50.jsonl'), '--out', join(dir, 'hh'))).toThrow(/safe-dpo needs per-response safety labels.*none of the \d+ hh records/);
  });
});
