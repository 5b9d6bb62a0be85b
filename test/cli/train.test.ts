// `safealign train sft|reward|cost` from the command line, on a tiny model and world data made in the test.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCausalLM, loadPretrained, parseModelConfig, savePretrained, ScoreModel, trainWordLevel } from '../../src/models/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { buildWorld } from '../../src/world/index.js';

const dir = mkdtempSync(join(tmpdir(), 'train-cli-'));
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' } });

beforeAll(() => {
  buildWorld({ pairs: { train: 120, test: 40 }, sft: { responsesPerPrompt: 1 } }, join(dir, 'world'));
  const sft = readFileSync(join(dir, 'world', 'sft-train.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 200);
  writeFileSync(join(dir, 'sft.jsonl'), `${sft.join('\n')}\n`);
  const tok = trainWordLevel(
    [...sft.map((l) => JSON.parse(l) as { prompt: string; response: string }).flatMap((e) => [e.prompt, e.response]), 'BEGINNING OF CONVERSATION : USER ASSISTANT', readFileSync(join(dir, 'world', 'vocab.txt'), 'utf8')],
    { vocabSize: 2000 },
  );
  manualSeed(0);
  const model = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 1, n_head: 2, n_positions: 96, vocab_size: tok.vocabSize }));
  savePretrained(join(dir, 'base'), model, { tokenizer: tok });
});

describe('safealign train', () => {
  it('sft lowers the loss and writes an HF folder', () => {
    const out = cli('train', 'sft', '--model', join(dir, 'base'), '--train', join(dir, 'sft.jsonl'), '--test', join(dir, 'sft.jsonl'), '--out', join(dir, 'sft'), '--sft-epochs', '3', '--sft-batch-size', '16');
    expect(out).toMatch(/SFT: 39 steps, eval loss [\d.]+ \(perplexity [\d.]+\)/);
    const log = (JSON.parse(readFileSync(join(dir, 'sft', 'checkpoint', 'state.json'), 'utf8')) as { log: { loss: number }[] }).log;
    const mean = (xs: { loss: number }[]) => xs.reduce((a, b) => a + b.loss, 0) / xs.length;
    expect(mean(log.slice(-5))).toBeLessThan(mean(log.slice(0, 3)) - 1);
    expect(loadPretrained(join(dir, 'sft')).tokenizer).toBeDefined();
  });
  it('cost trains a cost model on PKU-SafeRLHF JSONL and reports sign accuracy', () => {
    const out = cli('train', 'cost', '--model', join(dir, 'base'), '--train', join(dir, 'world', 'preferences-train.jsonl'), '--test', join(dir, 'world', 'preferences-test.jsonl'), '--out', join(dir, 'cost'), '--score-epochs', '1');
    expect(out).toMatch(/cost model: test accuracy [\d.]+%, sign accuracy [\d.]+%/);
    const m = loadPretrained(join(dir, 'cost')).model;
    expect(m).toBeInstanceOf(ScoreModel);
    expect((m as ScoreModel).scoreType).toBe('cost');
  });
  it('reports a malformed data line with file and line number, and stops when no line is usable', () => {
    writeFileSync(join(dir, 'bad.jsonl'), '{"prompt": 3}\n{"prompt": "a"}\n');
    expect(() => cli('train', 'sft', '--model', join(dir, 'base'), '--train', join(dir, 'bad.jsonl'), '--out', join(dir, 'x'))).toThrow(
      /bad\.jsonl:1: schema: prompt: [\s\S]*bad\.jsonl:2: schema: response: [\s\S]*bad\.jsonl: no SFT example could be read/,
    );
  });
});
