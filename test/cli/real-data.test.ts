// Real PKU-SafeRLHF records on a GPT-2 whose context (64) is shorter than many of them: every command truncates, counts and never crashes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePair } from '../../src/algorithms/common/batching.js';
import { fitPair, type TruncationStats } from '../../src/algorithms/common/truncation.js';
import { evaluateScoreModel } from '../../src/algorithms/score/train.js';
import { CausalLM, createCausalLM, lastTokenIndex, loadPretrained, parseModelConfig, savePretrained, ScoreModel, trainWordLevel, type Tokenizer } from '../../src/models/index.js';
import { manualSeed, type Tensor } from '../../src/torch/index.js';
import { sharedData } from '../helpers/shared.js';
import { expectedCounts as countsFor } from '../helpers/truncation-counts.js';

const dir = mkdtempSync(join(tmpdir(), 'real-data-'));
const CONTEXT = 64;
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' } });

interface PkuRow {
  prompt: string;
  response_0: string;
  response_1: string;
  is_response_0_safe: boolean;
  is_response_1_safe: boolean;
  safer_response_id: 0 | 1;
}
let rows: PkuRow[];
let tokenizer: Tokenizer;
const longPrompt = Array.from({ length: 80 }, (_, i) => `word${i % 7}`).join(' ');

const expectedCounts = (records: { prompt: string; responses: string[] }[], maxLength: number) => countsFor(tokenizer, records, maxLength);
const pku = (rs: PkuRow[]) => rs.map((r) => ({ prompt: r.prompt, responses: [r.response_0, r.response_1] }));
let sft: { prompt: string; response: string }[];

beforeAll(() => {
  const lines = readFileSync(sharedData('pku_saferlhf_sample60.jsonl'), 'utf8').split('\n').filter(Boolean);
  rows = lines.map((l) => JSON.parse(l) as PkuRow);
  // train: 44 real records + one whose prompt alone is longer than the context (line 23); test: the last 15
  const long = JSON.stringify({ ...rows[0], prompt: longPrompt });
  writeFileSync(join(dir, 'train.jsonl'), `${[...lines.slice(0, 22), long, ...lines.slice(22, 44)].join('\n')}\n`);
  writeFileSync(join(dir, 'test.jsonl'), `${lines.slice(45).join('\n')}\n`);
  // SFT: the safe responses, plus the long prompt on line 3
  sft = rows.slice(0, 30).map((r) => ({ prompt: r.prompt, response: r.is_response_0_safe ? r.response_0 : r.response_1 }));
  sft.splice(2, 0, { prompt: longPrompt, response: 'no' });
  writeFileSync(join(dir, 'sft.jsonl'), `${sft.map((e) => JSON.stringify(e)).join('\n')}\n`);
  tokenizer = trainWordLevel([...rows.flatMap((r) => [r.prompt, r.response_0, r.response_1]), 'BEGINNING OF CONVERSATION : USER ASSISTANT', longPrompt], { vocabSize: 3000 });
  manualSeed(0);
  const model = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 1, n_head: 2, n_positions: CONTEXT, vocab_size: tokenizer.vocabSize }));
  savePretrained(join(dir, 'gpt2'), model, { tokenizer });
  const llama = { model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: CONTEXT, vocab_size: tokenizer.vocabSize };
  savePretrained(join(dir, 'llama'), createCausalLM(parseModelConfig(llama)), { tokenizer });
});

describe('fitting sequences into the context', () => {
  it('score models keep the response end (its EOS), SFT the response start; a prompt with no room is skipped', () => {
    const pair = { promptIds: [1, 2, 3], responseIds: [10, 11, 12, 13, 99] };
    expect(fitPair(pair, 6, 'response-end')).toEqual({ pair: { promptIds: [1, 2, 3], responseIds: [12, 13, 99] }, truncated: true });
    expect(fitPair(pair, 6, 'response-start')).toEqual({ pair: { promptIds: [1, 2, 3], responseIds: [10, 11, 12] }, truncated: true });
    expect(fitPair(pair, 8, 'response-end')).toEqual({ pair, truncated: false });
    expect(fitPair(pair, 3, 'response-start')).toBeNull();
    expect(fitPair(pair, 4, 'response-end')).toEqual({ pair: { promptIds: [1, 2, 3], responseIds: [99] }, truncated: true });
  });

  it('score-model evaluation reads the end score at the last token of the response (EOS) after truncation', () => {
    // a scorer whose end score is the token id it reads the score at
    const lastToken = { contextLength: 24, eval: () => undefined, forward: (ids: Tensor, mask: Tensor) => ({ endScores: ids.gather(1, lastTokenIndex(mask).unsqueeze(1)).squeeze(1).float() }) };
    const long = Array.from({ length: 60 }, () => 'the').join(' ');
    const ev = evaluateScoreModel('cost', lastToken, tokenizer, [{ prompt: 'how', responses: [long, 'no'], betterResponseId: 0, saferResponseId: 1, isSafe: [false, true] }]);
    expect(ev.truncation).toMatchObject({ maxLength: 24, total: 1, truncated: 1, skipped: 0 });
    expect(ev.unsafeMean).toBe(tokenizer.eosId);
    expect(ev.safeMean).toBe(tokenizer.eosId);
  });
});

describe('safealign train on real data longer than the context', () => {
  it('the sample really is longer than the context (else this file tests nothing)', () => {
    const c = expectedCounts(pku(rows.slice(0, 44)), CONTEXT);
    expect(c.truncated).toBeGreaterThan(10);
    expect(c.skipped).toBeLessThan(c.truncated);
  });

  it('train cost --test: trains and evaluates, prints and stores the truncated and skipped counts, names the skipped line', () => {
    const out = cli('train', 'cost', '--model', join(dir, 'gpt2'), '--train', join(dir, 'train.jsonl'), '--test', join(dir, 'test.jsonl'), '--out', join(dir, 'cm'), '--score-batch-size', '16');
    const train = expectedCounts(pku([...rows.slice(0, 22), { ...(rows[0] as PkuRow), prompt: longPrompt }, ...rows.slice(22, 44)]), CONTEXT);
    const test = expectedCounts(pku(rows.slice(45)), CONTEXT);
    expect(train.skippedLines).toContain(23);
    const where = train.skippedLines.map((l) => `${join(dir, 'train.jsonl')}:${l}`);
    expect(out).toContain(`train: ${train.truncated} of 45 pairs truncated to ${CONTEXT} tokens (response end kept), ${train.skipped} skipped (prompt leaves no room for a response in ${CONTEXT} tokens): ${where.join(', ')}\n`);
    expect(out).toContain(`test: ${test.truncated} of 15 pairs truncated to ${CONTEXT} tokens (response end kept), ${test.skipped} skipped`);
    expect(out).toMatch(/cost model: test accuracy [\d.]+%, sign accuracy [\d.]+%/);
    const stored = JSON.parse(readFileSync(join(dir, 'cm', 'training_result.json'), 'utf8')) as { truncation: { train: TruncationStats }; test: { truncation: TruncationStats; n: number } };
    expect(stored.truncation.train).toEqual({ maxLength: CONTEXT, total: 45, truncated: train.truncated, skipped: train.skipped, skippedAt: where });
    expect(stored.test.truncation).toMatchObject({ maxLength: CONTEXT, total: 15, truncated: test.truncated, skipped: test.skipped });
    expect(stored.test.n).toBe(15 - test.skipped);
    expect((loadPretrained(join(dir, 'cm')).model as ScoreModel).scoreType).toBe('cost');
    // the same command gives the same model (the new score head is seeded)
    cli('train', 'cost', '--model', join(dir, 'gpt2'), '--train', join(dir, 'train.jsonl'), '--test', join(dir, 'test.jsonl'), '--out', join(dir, 'cm2'), '--score-batch-size', '16');
    const again = JSON.parse(readFileSync(join(dir, 'cm2', 'training_result.json'), 'utf8')) as { test: { safeMean: number; unsafeMean: number } };
    expect(again.test).toMatchObject({ safeMean: (stored.test as unknown as { safeMean: number }).safeMean, unsafeMean: (stored.test as unknown as { unsafeMean: number }).unsafeMean });
  });

  it('train cost on a Llama (RoPE, no hard limit) fits to its max_position_embeddings too', () => {
    const out = cli('train', 'cost', '--model', join(dir, 'llama'), '--train', join(dir, 'train.jsonl'), '--test', join(dir, 'test.jsonl'), '--out', join(dir, 'llama-cm'), '--score-batch-size', '16');
    const test = expectedCounts(pku(rows.slice(45)), CONTEXT);
    expect(out).toContain(`test: ${test.truncated} of 15 pairs truncated to ${CONTEXT} tokens (response end kept), ${test.skipped} skipped`);
  });

  it('train reward --score-max-length 40: the configured length wins when shorter than the context, for training and --test alike', () => {
    const out = cli('train', 'reward', '--model', join(dir, 'gpt2'), '--train', join(dir, 'train.jsonl'), '--test', join(dir, 'test.jsonl'), '--out', join(dir, 'rm'), '--score-max-length', '40', '--score-batch-size', '16');
    const test = expectedCounts(pku(rows.slice(45)), 40);
    expect(out).toMatch(/train: \d+ of 45 pairs truncated to 40 tokens \(response end kept\), [1-9]\d* skipped/);
    expect(out).toContain(`test: ${test.truncated} of 15 pairs truncated to 40 tokens (response end kept), ${test.skipped} skipped`);
    expect(out).toMatch(/reward model: test accuracy [\d.]+%/);
  });

  it('train sft: keeps the response start, skips the prompt longer than the context by file:line', () => {
    const out = cli('train', 'sft', '--model', join(dir, 'gpt2'), '--train', join(dir, 'sft.jsonl'), '--test', join(dir, 'sft.jsonl'), '--out', join(dir, 'sft'), '--sft-epochs', '1', '--sft-batch-size', '16');
    const expected = expectedCounts(sft.map((e) => ({ prompt: e.prompt, responses: [e.response] })), CONTEXT);
    expect(expected.skippedLines[0]).toBe(3);
    expect(expected.truncated).toBeGreaterThan(0);
    const where = expected.skippedLines.map((l) => `${join(dir, 'sft.jsonl')}:${l}`);
    expect(out).toContain(`train: ${expected.truncated} of 31 examples truncated to ${CONTEXT} tokens (response start kept), ${expected.skipped} skipped (prompt leaves no room for a response in ${CONTEXT} tokens): ${where.join(', ')}\n`);
    expect(out).toContain(`SFT: ${Math.ceil((31 - expected.skipped) / 16)} steps, eval loss`);
    const stored = JSON.parse(readFileSync(join(dir, 'sft', 'training_result.json'), 'utf8')) as { truncation: { train: TruncationStats } };
    expect(stored.truncation.train).toEqual({ maxLength: CONTEXT, total: 31, truncated: expected.truncated, skipped: expected.skipped, skippedAt: where });
  });

  it('the folders trained above feed train ppo-lag on the same real prompts, with PTX on the SFT file (the SFT policy, reward and cost models chained through the CLI)', () => {
    const out = cli('train', 'ppo-lag', '--actor', join(dir, 'sft'), '--reward', join(dir, 'rm'), '--cost', join(dir, 'cm'), '--prompts', join(dir, 'test.jsonl'), '--threshold-from', join(dir, 'test.jsonl'), '--out', join(dir, 'lag'), '--rl-steps', '2', '--rl-prompts-per-step', '4', '--rl-mini-batch-size', '4', '--rl-max-new-tokens', '12', '--ptx', join(dir, 'sft.jsonl'), '--rl-ptx-coef', '0.5');
    const ptx = expectedCounts(sft.map((e) => ({ prompt: e.prompt, responses: [e.response] })), CONTEXT);
    const result = JSON.parse(readFileSync(join(dir, 'lag', 'result.json'), 'utf8')) as { truncation: { ptx: TruncationStats } };
    expect(result.truncation.ptx).toMatchObject({ maxLength: CONTEXT, total: 31, truncated: ptx.truncated, skipped: ptx.skipped });
    // an RL prompt must leave room for 12 new tokens in the 64-token context
    const skipped = rows.slice(45).filter((r) => encodePair(tokenizer, r, '').promptIds.length > CONTEXT - 12).length;
    expect(out).toContain(`prompts: 15 read from ${join(dir, 'test.jsonl')} (pku), 0 unreadable lines; ${skipped} of 15 skipped (longer than ${CONTEXT - 12} tokens)`);
    expect(out).toMatch(/ppo-lag: 2 steps, d = -?[\d.]+; last step: reward/);
    expect(loadPretrained(join(dir, 'lag')).model).toBeInstanceOf(CausalLM);
  });

  it('generate: caps new tokens at the context, and a prompt longer than the context is an error, not a crash', () => {
    const prompt = Array.from({ length: 50 }, () => 'the').join(' ');
    const r = JSON.parse(cli('generate', '--model', join(dir, 'gpt2'), '--prompt', prompt, '--raw', '--max-new-tokens', '40', '--json')) as { logprobs: number[] };
    expect(r.logprobs.length).toBeLessThanOrEqual(CONTEXT - 50);
    expect(() => cli('generate', '--model', join(dir, 'gpt2'), '--prompt', longPrompt, '--raw')).toThrow(/safealign: a prompt of 80 tokens leaves no room to generate: the model's context is 64 tokens/);
  });
});
