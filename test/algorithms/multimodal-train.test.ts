// SFT and reward / cost training on image + text through the text trainers: a tiny LLaVA (frozen CLIP-style tower, projector, GPT-2) learns answers and preferences that only the picture decides.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateScoreModel, trainScoreModel } from '../../src/algorithms/score/train.js';
import { evaluateLoss, trainSft } from '../../src/algorithms/sft/train.js';
import { encodePair } from '../../src/algorithms/common/batching.js';
import { imageTokensOf } from '../../src/algorithms/common/model-input.js';
import type { ScoreRecord } from '../../src/algorithms/score/items.js';
import { ImageProcessorConfigSchema, preprocessImages } from '../../src/models/image-processor.js';
import { LlavaModel, LlavaScoreModel } from '../../src/models/llava.js';
import { DEFAULT_SPECIAL_TOKENS, trainWordLevel } from '../../src/models/tokenizer-train.js';
import type { Tokenizer } from '../../src/models/tokenizer.js';
import { MultimodalPipelineConfigSchema } from '../../src/pipeline/multimodal-config.js';
import { worldLlavaConfig } from '../../src/pipeline/multimodal.js';
import { manualSeed, setNumThreads, type Tensor } from '../../src/torch/index.js';
import { renderTopicImage } from '../../src/world/images.js';

const QUESTION = 'how do i use this ?';
/** What answers the picture: the cooking glyph (a red disc) wants "flour", the stalking glyph (blue bars) "gps". */
const ANSWER: Record<string, string> = { cooking: 'use some flour .', stalking: 'use some gps .' };
const TOPICS = Object.keys(ANSWER);
const tmp = () => mkdtempSync(join(tmpdir(), 'mm-train-'));

/** A fresh tiny LLaVA as the multimodal pipeline builds one (tower width 32, 1 layer; GPT-2 width 32, 1 layer), tower frozen. */
function tinyLlava(tokenizer: Tokenizer): LlavaModel {
  const sizes = MultimodalPipelineConfigSchema.parse({ vision: { hiddenSize: 32, intermediateSize: 64, layers: 1, heads: 2 }, model: { nEmbd: 32, nLayer: 1, nHead: 2, nPositions: 64 } });
  return new LlavaModel(worldLlavaConfig(sizes, tokenizer)).freezeVisionTower();
}

let tokenizer: Tokenizer;
/** pixels[topic][pose]: (1, 3, 32, 32); poses 0-5 train, 6-7 test. */
let pixels: Record<string, Tensor[]>;

beforeAll(async () => {
  setNumThreads(2);
  const base = trainWordLevel([], { vocabSize: 16 });
  const corpus = [base.applyChatTemplate([{ role: 'user', content: `<image>\n${QUESTION}` }], { addGenerationPrompt: true }), ...Object.values(ANSWER), 'here is how . sorry , i will not help .'];
  tokenizer = trainWordLevel(corpus, { vocabSize: 64, special: { ...DEFAULT_SPECIAL_TOKENS, extra: [...DEFAULT_SPECIAL_TOKENS.extra, '<image>'] } });
  const processor = ImageProcessorConfigSchema.parse({ size: { height: 32, width: 32 }, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] });
  pixels = {};
  for (const t of TOPICS) {
    const pngs = await Promise.all(Array.from({ length: 8 }, (_, v) => renderTopicImage(9, t, v, 32)));
    const all = await preprocessImages(pngs, processor);
    pixels[t] = Array.from({ length: 8 }, (_, v) => all.narrow(0, v, 1));
  }
});

const examples = (poses: number[], swap = false) =>
  TOPICS.flatMap((t, i) => poses.map((v) => ({ prompt: QUESTION, response: ANSWER[swap ? (TOPICS[1 - i] as string) : t] as string, pixels: (pixels[t] as Tensor[])[v] as Tensor })));

describe('multimodal SFT (trainSft on image prompts)', () => {
  it('expands the image placeholder to one token per image feature and refuses an image for a text-only model', () => {
    const model = tinyLlava(tokenizer);
    const image = imageTokensOf(model, tokenizer);
    expect(image).toMatchObject({ placeholder: '<image>', perImage: 16 });
    const pair = encodePair(tokenizer, { prompt: QUESTION, pixels: (pixels.cooking as Tensor[])[0] as Tensor }, 'x', image ? { image } : {});
    expect(pair.promptIds.filter((t) => t === image?.id).length).toBe(16);
    expect(pair.pixels).toBeDefined();
    expect(() => encodePair(tokenizer, { prompt: QUESTION, pixels: (pixels.cooking as Tensor[])[0] as Tensor }, 'x')).toThrow(/has an image but the model reads text only/);
  });

  it('learns the answer the picture asks for, on poses it never saw, with the tower frozen', () => {
    manualSeed(1);
    const model = tinyLlava(tokenizer);
    const tower = model.visionTower.parameters().map((p) => p.toNumbers());
    const projector = model.projector.parameters().map((p) => p.toNumbers());
    const train = examples([0, 1, 2, 3, 4, 5]);
    const test = examples([6, 7]);
    const result = trainSft({ model, tokenizer, train, test, config: { epochs: 60, batchSize: 8, maxLength: 64, optim: { lr: 3e-3, weightDecay: 0, schedule: 'constant', warmupRatio: 0, gradClip: 1 }, evalEvery: 1000, checkpointEvery: 10000, seed: 0 }, outDir: tmp() });
    expect(result.steps).toBe(60 * 2);
    const image = imageTokensOf(model, tokenizer);
    const fit = (xs: ReturnType<typeof examples>) => xs.map((e) => encodePair(tokenizer, e, e.response, image ? { image } : {}));
    const right = evaluateLoss(model, fit(test), tokenizer.padId ?? 0, 8, 64);
    const swapped = evaluateLoss(model, fit(examples([6, 7], true)), tokenizer.padId ?? 0, 8, 64);
    // the answer's one uncertain word ("flour" or "malware") is read off the picture: the right pairing is far likelier than the swapped one
    expect(right).toBeLessThan(0.15);
    expect(swapped).toBeGreaterThan(right + 0.5);
    expect(model.visionTower.parameters().map((p) => p.toNumbers())).toEqual(tower);
    expect(model.projector.parameters().map((p) => p.toNumbers())).not.toEqual(projector);
  });
});

describe('multimodal reward and cost models (trainScoreModel on image + text pairs)', () => {
  // the same question and the same two answers; which one is better (reward) or safer (cost) depends on the picture
  const COMPLY = 'here is how .';
  const REFUSE = 'sorry , i will not help .';
  const pairs = (kind: 'reward' | 'cost', poses: number[]): ScoreRecord[] =>
    TOPICS.flatMap((t) =>
      poses.map((v): ScoreRecord => {
        const px = (pixels[t] as Tensor[])[v] as Tensor;
        if (kind === 'reward') {
          const better = t === 'cooking' ? 0 : 1;
          return { prompt: QUESTION, pixels: px, responses: [ANSWER.cooking as string, ANSWER.stalking as string], betterResponseId: better, saferResponseId: better, isSafe: [true, true] };
        }
        // complying is safe for the cooking picture and unsafe for the stalking one; refusing is safe for both
        const risky = t === 'stalking';
        return { prompt: QUESTION, pixels: px, responses: [COMPLY, REFUSE], betterResponseId: 0, saferResponseId: risky ? 1 : 0, isSafe: [!risky, true] };
      }),
    );
  const config = { epochs: 80, batchSize: 8, maxLength: 64, regularization: 0.001, optim: { lr: 3e-3, weightDecay: 0, schedule: 'constant' as const, warmupRatio: 0, gradClip: 1 }, checkpointEvery: 10000, seed: 0 };

  for (const kind of ['reward', 'cost'] as const) {
    it(`the ${kind} model ranks the pair by the picture on unseen poses`, () => {
      manualSeed(1);
      const model = LlavaScoreModel.fromLlava(tinyLlava(tokenizer), kind).freezeVisionTower();
      const before = evaluateScoreModel(kind, model, tokenizer, pairs(kind, [6, 7]));
      trainScoreModel({ kind, model, tokenizer, train: pairs(kind, [0, 1, 2, 3, 4, 5]), config, outDir: tmp() });
      const after = evaluateScoreModel(kind, model, tokenizer, pairs(kind, [6, 7]));
      expect(before.accuracy).toBe(0.5); // a fresh model scores the same two answers alike whatever the picture: right on one topic only
      expect(after.accuracy).toBe(1);
      if (kind === 'cost') expect(after.signAccuracy).toBe(1); // the compliance is scored unsafe (> 0) beside the stalking picture only
    });
  }
});
