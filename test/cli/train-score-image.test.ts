// `safealign train reward|cost` on BeaverTails-V image + text files with a LLaVA folder as base: the multimodal world's pairs and the shipped sample.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLlava, loadLlavaScoreModel, saveLlava } from '../../src/models/hf-vision.js';
import { LlavaModel } from '../../src/models/llava.js';
import { DEFAULT_SPECIAL_TOKENS, trainWordLevel } from '../../src/models/tokenizer-train.js';
import { manualSeed } from '../../src/torch/index.js';
import { MultimodalPipelineConfigSchema } from '../../src/pipeline/multimodal-config.js';
import { worldImageProcessor, worldLlavaConfig } from '../../src/pipeline/multimodal.js';
import { buildImageWorld, WORLD_FILES } from '../../src/world/build.js';
import { worldVocabulary } from '../../src/world/lexicon.js';
import { saveTinyFolders } from '../helpers/tiny-cli-models.js';

const dir = mkdtempSync(join(tmpdir(), 'train-score-image-'));
const world = join(dir, 'world');
const SAMPLE = 'data/beavertails-v-sample/data.jsonl';
const run = (ok: boolean, ...args: string[]): { stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' } });
  if ((r.status === 0) !== ok) throw new Error(`\`safealign ${args.join(' ')}\` exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
};

beforeAll(async () => {
  await buildImageWorld({ seed: 3, sft: { responsesPerPrompt: 1 }, pairs: { train: 120, test: 40 }, images: { variants: 2 } }, world);
  const sample = readFileSync(SAMPLE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { question: string; response_1: string; response_2: string });
  const texts = [...worldVocabulary(), ...sample.flatMap((r) => [r.question, r.response_1, r.response_2]), 'BEGINNING OF CONVERSATION : USER ASSISTANT'];
  const tok = trainWordLevel(texts, { vocabSize: 2000, special: { ...DEFAULT_SPECIAL_TOKENS, extra: [...DEFAULT_SPECIAL_TOKENS.extra, '<image>'] } });
  manualSeed(5);
  const sizes = MultimodalPipelineConfigSchema.parse({ vision: { hiddenSize: 16, intermediateSize: 32, layers: 1, heads: 2 }, model: { nEmbd: 16, nLayer: 1, nHead: 2 } });
  const config = worldLlavaConfig(sizes, tok);
  saveLlava(join(dir, 'llava'), new LlavaModel(config), { tokenizer: tok, imageProcessor: worldImageProcessor(32) });
  saveTinyFolders(dir, texts, { gpt2: { seed: 1 } });
}, 60_000);

describe('train reward|cost on BeaverTails-V with a LLaVA base', () => {
  it('trains a multimodal cost model on the world pairs, tower frozen, and evaluates it on the gold test pairs', () => {
    const out = join(dir, 'cost');
    const { stdout } = run(true, 'train', 'cost', '--model', join(dir, 'llava'), '--train', join(world, WORLD_FILES.preferencesTrain), '--test', join(world, WORLD_FILES.goldTest), '--out', out, '--score-epochs', '1');
    expect(stdout).toMatch(/train: 120 image \+ text records from .* \(beavertails-v\), 0 unreadable lines/);
    expect(stdout).toMatch(/cost model: test accuracy [\d.]+%, sign accuracy [\d.]+%/);
    const result = JSON.parse(readFileSync(join(out, 'training_result.json'), 'utf8')) as { data: { train: { format: string; used: number } }; test: { n: number } };
    expect(result.data.train).toMatchObject({ format: 'beavertails-v', used: 120 });
    expect(result.test.n).toBe(40);
    const trained = loadLlavaScoreModel(out);
    expect(trained.imageProcessor?.size).toEqual({ height: 32, width: 32 });
    const base = loadLlava(join(dir, 'llava')).model;
    expect(trained.model.visionTower.parameters().map((p) => p.toNumbers())).toEqual(base.visionTower.parameters().map((p) => p.toNumbers()));
    expect(trained.model.projector.parameters().map((p) => p.toNumbers())).not.toEqual(base.projector.parameters().map((p) => p.toNumbers()));
  }, 120_000);

  it("trains the cost model's severity head on the shipped sample's responses", () => {
    const out = join(dir, 'severity');
    const { stdout } = run(true, 'train', 'cost', '--cost-data', 'severity', '--model', join(dir, 'llava'), '--train', SAMPLE, '--test', SAMPLE, '--out', out);
    expect(stdout).toMatch(/severity: accuracy [\d.]+%, mean \|level error\|/);
    expect(loadLlavaScoreModel(out).model.languageModel.ordinalLevels).toBe(4);
  }, 120_000);

  it('refuses image data for a text-only model, saying what to start from', () => {
    const { stderr } = run(false, 'train', 'reward', '--model', join(dir, 'gpt2'), '--train', SAMPLE, '--out', join(dir, 'nope'));
    expect(stderr).toMatch(/is BeaverTails-V \(image \+ text\) data, but --model is not a LLaVA folder/);
  }, 60_000);
});
