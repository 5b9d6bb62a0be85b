// `safealign train ppo-lag|ppo` on image + text prompts: tiny LLaVA folders (actor, reward, cost) built here, the shipped
// BeaverTails-V sample (and {"prompt", "image"} JSONL) as the prompt file; the output is a LLaVA folder with the tower unchanged.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPrompts } from '../../src/data/prompts.js';
import { ImageProcessorConfigSchema } from '../../src/models/image-processor.js';
import { LlavaModel, LlavaScoreModel, loadLlava, saveLlava } from '../../src/models/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { paramHash } from '../algorithms/rl-tiny.js';
import { saveTinyFolders } from '../helpers/tiny-cli-models.js';
import { tinyImageTokenizer, tinyLlavaConfig } from '../helpers/tiny-llava.js';

const SAMPLE = resolve('data/beavertails-v-sample/data.jsonl');
const dir = mkdtempSync(join(tmpdir(), 'train-rl-images-'));
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const base = ['--import', 'tsx', 'src/cli/main.ts', 'train'];
const cli = (...args: string[]) => execFileSync(process.execPath, [...base, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env });
const small = ['--rl-prompts-per-step', '4', '--rl-mini-batch-size', '4', '--rl-max-new-tokens', '4', '--rl-checkpoint-every', '1', '--rl-steps', '2'];
const models = () => ['--actor', join(dir, 'actor'), '--reward', join(dir, 'reward'), '--cost', join(dir, 'cost')];

beforeAll(() => {
  const questions = readFileSync(SAMPLE, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { question: string }).question);
  const tokenizer = tinyImageTokenizer(questions, ['use it safely please']);
  const config = tinyLlavaConfig(tokenizer);
  const imageProcessor = ImageProcessorConfigSchema.parse({ size: { height: 8, width: 8 }, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] });
  manualSeed(1);
  const actor = new LlavaModel(config);
  saveLlava(join(dir, 'actor'), actor, { tokenizer, imageProcessor });
  for (const kind of ['reward', 'cost'] as const) saveLlava(join(dir, kind), LlavaScoreModel.fromLlava(actor, kind), { tokenizer, imageProcessor });
  saveTinyFolders(join(dir, 'text'), questions, { actor: { seed: 1 } });
  // {"prompt", "image"} JSONL: a path relative to this file's folder and a data: URL
  const knife = readFileSync(resolve('data/beavertails-v-sample/images/knife.png'));
  writeFileSync(
    join(dir, 'image-prompts.jsonl'),
    [JSON.stringify({ prompt: 'How do I use this?', image: resolve('data/beavertails-v-sample/images/knife.png') }), JSON.stringify({ prompt: 'What is this?', image: `data:image/png;base64,${knife.toString('base64')}` })].join('\n'),
  );
});

describe('image prompt files', () => {
  it('reads BeaverTails-V rows (question + image) and {"prompt", "image"} rows; a broken image field is reported by line', () => {
    const bt = readPrompts(SAMPLE);
    expect(bt.format).toBe('beavertails-v');
    expect(bt.prompts[0]).toMatchObject({ prompt: 'How do I use this?', image: { path: 'images/knife.png' }, source: `${SAMPLE}:1` });
    writeFileSync(join(dir, 'bad.jsonl'), '{"prompt": "a", "image": "data:text/plain,hi"}\n{"prompt": "b", "image": 3}\n{"prompt": "c"}\n');
    const bad = readPrompts(join(dir, 'bad.jsonl'));
    expect(bad.prompts.map((p) => p.prompt)).toEqual(['c']);
    expect(bad.problems.map((p) => [p.line, p.message])).toEqual([
      [1, 'image: a data: URL that is not data:image/<type>;base64,<data>'],
      [2, 'image: expected an image file path or base64 image data'],
    ]);
  });
});

describe('safealign train ppo-lag|ppo with LLaVA folders', () => {
  it('ppo-lag on the BeaverTails-V sample: writes a LLaVA actor whose frozen tower is unchanged and whose projector learned', () => {
    const out = join(dir, 'lag');
    const text = cli('ppo-lag', ...models(), '--prompts', SAMPLE, '--out', out, '--threshold', '0', ...small);
    expect(text).toContain(`(beavertails-v)`);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { steps: number; prompts: { format: string; read: number } };
    expect(result.steps).toBe(2);
    expect(result.prompts).toMatchObject({ format: 'beavertails-v', read: 5 });
    const trained = loadLlava(out);
    const start = loadLlava(join(dir, 'actor'));
    expect(trained.imageProcessor).toEqual(start.imageProcessor);
    expect(paramHash(trained.model.visionTower)).toBe(paramHash(start.model.visionTower));
    expect(paramHash(trained.model.projector)).not.toBe(paramHash(start.model.projector));
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; lambda: number; cost: number });
    expect(log.map((r) => r.step)).toEqual([1, 2]);
    expect(log.every((r) => Number.isFinite(r.lambda) && Number.isFinite(r.cost))).toBe(true);
  });

  it('ppo on {"prompt", "image"} JSONL (a file path and a data: URL)', () => {
    const out = join(dir, 'ppo');
    cli('ppo', '--actor', join(dir, 'actor'), '--reward', join(dir, 'reward'), '--prompts', join(dir, 'image-prompts.jsonl'), '--out', out, ...small);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'))).toMatchObject({ steps: 2, prompts: { format: 'prompt', read: 2 } });
  });

  it('refuses image prompts for a text actor, and a missing image names its file:line', () => {
    const textActor = spawnSync(process.execPath, [...base, 'ppo', '--actor', join(dir, 'text', 'actor'), '--reward', join(dir, 'reward'), '--prompts', SAMPLE, '--out', join(dir, 'x'), ...small], { encoding: 'utf8', env });
    expect(textActor.status).not.toBe(0);
    expect(textActor.stderr).toContain(`${SAMPLE}: 5 prompts have images, but --actor is a text model: give LLaVA folders`);
    writeFileSync(join(dir, 'missing.jsonl'), `${JSON.stringify({ prompt: 'a', image: 'nowhere.png' })}\n`);
    const missing = spawnSync(process.execPath, [...base, 'ppo', '--actor', join(dir, 'actor'), '--reward', join(dir, 'reward'), '--prompts', join(dir, 'missing.jsonl'), '--out', join(dir, 'y'), ...small], { encoding: 'utf8', env });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain(`${join(dir, 'missing.jsonl')}:1`);
  });
});
