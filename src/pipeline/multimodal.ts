// The image + text pipeline on the multimodal world: world -> SFT of a LLaVA-style policy -> multimodal reward, cost and severity models -> evaluation -> report.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunks, encodePrompt, padPromptsLeft } from '../algorithms/common/batching.js';
import { imageTokensOf } from '../algorithms/common/model-input.js';
import { labelsWithPixels, type ScoreRecord } from '../algorithms/score/items.js';
import { evaluateScoreModel, trainScoreModel, type ScoreEval, type ScoreKind } from '../algorithms/score/train.js';
import { trainSft } from '../algorithms/sft/train.js';
import { pretrainVisionTower, type LabelledPicture } from '../algorithms/vision-pretrain/train.js';
import { decodeResponses } from '../algorithms/rl/step-log.js';
import { ConfigError } from '../config/schema-cli.js';
import { writeFileAtomic, writeJsonAtomic } from '../core/fs-atomic.js';
import { silentProgress, type Progress } from '../core/progress.js';
import { readBeaverTailsV } from '../data/beavertails-v.js';
import { page, section, table } from '../eval/html.js';
import { worldMetrics, type WorldMetrics } from '../eval/world-metrics.js';
import { loadLlava, saveLlava } from '../models/hf-vision.js';
import { ImageProcessorConfigSchema, preprocessImages, type ImageProcessorConfig } from '../models/image-processor.js';
import { LlavaModel, LlavaScoreModel } from '../models/llava.js';
import { Tokenizer } from '../models/tokenizer.js';
import { parseLlavaConfig, type LlavaConfig } from '../models/vision-config.js';
import { cat, manualSeed, noGrad, setNumThreads, tensor, tidy, type Tensor } from '../torch/index.js';
import { buildImageWorld, WORLD_FILES } from '../world/build.js';
import { GLYPH_COLOURS, GLYPH_SHAPES, glyphCatalogue, imagePose, renderGlyph } from '../world/images.js';
import { goldHarm } from '../world/oracle.js';
import { Rng } from '../world/rng.js';
import { readJsonl } from './jsonl-lines.js';
import { policyGpt2Config } from './config.js';
import type { MultimodalPipelineConfig } from './multimodal-config.js';
import { configDifferences } from './run.js';
import { splitValidation } from './score-validation.js';
import { StageRunner } from './stages.js';
import { worldTokenizer } from './world-tokenizer.js';

/** The placeholder an image prompt's text carries; the tokenizer keeps it whole, the LLaVA config names its id. */
export const IMAGE_TOKEN = '<image>';

/** Severity levels of the ordinal head: 0 safe, 1 minor, 2 moderate, 3 severe (PKU-SafeRLHF / BeaverTails-V). */
const SEVERITY_LEVELS = 4;

/** The SFT policy's answers to the test image prompts, judged by the gold oracle with each prompt's picture. */
export interface ImagePolicyEval extends WorldMetrics {
  /** Mean gold helpfulness of the answers to risky prompts. */
  riskyHelpfulness: number;
  examples: { prompt: string; image: string; topic: string; risky: boolean; response: string; safe: boolean; helpfulness: number }[];
}

export interface MultimodalResult {
  runDir: string;
  sft: ImagePolicyEval;
  /** Accuracy on the validation split (annotator labels), the test pairs (annotator labels) and the same pairs' gold labels. */
  scoreModels: Record<ScoreKind, { validation: ScoreEval; test: ScoreEval; gold: ScoreEval }>;
  /** The severity head on the test pairs' responses: against the annotators' levels and against gold. */
  severity: { test: ScoreEval; gold: ScoreEval };
  /** The tower's pretraining: its shape and colour accuracy on glyph pictures in new poses (null without pretraining). */
  vision: { steps: number; test: { shapeAccuracy: number; colourAccuracy: number; n: number } } | null;
  /** Training pairs and the validation split. */
  preferenceData: { trainPairs: number; validationPairs: number };
  timings: Record<string, number>;
}

/** What images become for the tower: the world's square pictures at their size, each channel scaled to [-1, 1]. */
export function worldImageProcessor(size: number): ImageProcessorConfig {
  return ImageProcessorConfigSchema.parse({ size: { height: size, width: size }, resample: 2, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] });
}

/** A fresh LLaVA-style config for the world: a CLIP-style tower of `config.vision`, a 2-layer projector, a GPT-2 LM of `config.model`. */
export function worldLlavaConfig(config: MultimodalPipelineConfig, tokenizer: Tokenizer): LlavaConfig {
  const v = config.vision;
  const m = config.model;
  const imageToken = tokenizer.tokenToId(IMAGE_TOKEN);
  if (imageToken === undefined) throw new ConfigError(`the tokenizer has no ${IMAGE_TOKEN} token; build it with worldTokenizer(..., ['${IMAGE_TOKEN}'])`);
  return parseLlavaConfig({
    model_type: 'llava',
    image_token_index: imageToken,
    vision_feature_layer: v.featureLayer,
    vision_feature_select_strategy: 'default',
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: v.hiddenSize,
      intermediate_size: v.intermediateSize,
      num_hidden_layers: v.layers,
      num_attention_heads: v.heads,
      image_size: config.world.images.size,
      patch_size: v.patchSize,
    },
    text_config: policyGpt2Config(m, tokenizer),
  });
}

/** Every picture of the world folder as pixel values (1, C, H, W), by its path relative to the folder (`images/<topic>-<v>.png`). */
async function readImageBank(worldDir: string, processor: ImageProcessorConfig): Promise<Map<string, Tensor>> {
  const files = readdirSync(join(worldDir, 'images')).filter((f) => f.endsWith('.png')).sort();
  const all = await preprocessImages(files.map((f) => join(worldDir, 'images', f)), processor);
  return new Map(files.map((f, i) => [`images/${f}`, all.narrow(0, i, 1)]));
}

function pixelsOf(bank: Map<string, Tensor>, image: string, where: string): Tensor {
  const px = bank.get(image);
  if (!px) throw new ConfigError(`${where}: picture ${image} is not in the world's images/ folder; rebuild the world (delete its stage folder)`);
  return px;
}

/** Pictures of every glyph of the catalogue in poses `from`..`from + count - 1` of the 'pretrain' stream of `seed` (never the world's pictures), labelled with shape and colour. */
async function glyphPictures(seed: number, from: number, count: number, processor: ImageProcessorConfig, size: number): Promise<LabelledPicture[]> {
  const items = glyphCatalogue().flatMap((g) => Array.from({ length: count }, (_, k) => ({ ...g, pose: imagePose(seed, `${g.glyph.shape}-${g.glyph.colour}`, from + k, 'pretrain') })));
  const pngs = await Promise.all(items.map((it) => renderGlyph(it.glyph, it.pose, size)));
  const pixels = await preprocessImages(pngs, processor);
  return items.map((it, i) => ({ pixels: pixels.narrow(0, i, 1), shape: it.shape, colour: it.colour }));
}

/** A world pairs file (BeaverTails-V) with each record's pixels. */
async function readImagePairs(path: string, bank: Map<string, Tensor>): Promise<ScoreRecord[]> {
  const { records } = await readBeaverTailsV(path, { strict: true, checkImages: false });
  return records.map((r) => ({ ...r, pixels: pixelsOf(bank, 'path' in r.image ? r.image.path : '', `${path}:${r.source?.line ?? '?'}`) }));
}

interface ImagePrompt {
  prompt: string;
  image: string;
  topic: string;
  kind: 'benign' | 'risky';
}

/** `samples` answers per prompt from an image + text policy (sampled at `temperature`), in prompt order. */
export function sampleImageResponses(
  policy: LlavaModel,
  tokenizer: Tokenizer,
  items: readonly { prompt: string; pixels: Tensor }[],
  config: { temperature: number; maxNewTokens: number; batchSize: number },
  progress: Progress = silentProgress,
): string[] {
  const image = imageTokensOf(policy, tokenizer);
  const padId = tokenizer.padId ?? 0;
  const out: string[] = [];
  progress.start('sft: answer test image prompts', items.length);
  policy.eval();
  noGrad(() => {
    for (const batch of chunks(items, config.batchSize)) {
      tidy(() => {
        const prompts = batch.map((p) => encodePrompt(tokenizer, p, image ? { image } : {}));
        const { ids, attentionMask } = padPromptsLeft(prompts, padId);
        const gen = policy.generate(tensor(ids, { dtype: 'int64' }), tensor(attentionMask, { dtype: 'int64' }), cat(batch.map((p) => p.pixels), 0), {
          maxNewTokens: config.maxNewTokens,
          temperature: config.temperature,
          padId,
          ...(tokenizer.eosId !== undefined ? { stopTokenIds: [tokenizer.eosId] } : {}),
        });
        const t = gen.responseMask.shape[1] as number;
        out.push(...decodeResponses(tokenizer, gen.sequences.narrow(1, (ids[0] as number[]).length, t), gen.responseMask));
      });
      progress.update(out.length);
    }
  });
  progress.stop();
  return out;
}

/** Gold harmful rate (risky prompts) and helpfulness of answers to image prompts, each judged with its picture's topic. */
export function judgeImageAnswers(prompts: readonly ImagePrompt[], responses: readonly string[]): ImagePolicyEval {
  const items = prompts.map((p, i) => ({ prompt: p.prompt, response: responses[i] ?? '', risky: p.kind === 'risky', imageTopic: p.topic }));
  const metrics = worldMetrics(items);
  const risky = items.filter((it) => it.risky);
  const examples = prompts.map((p, i) => {
    const response = responses[i] ?? '';
    return { prompt: p.prompt, image: p.image, topic: p.topic, risky: p.kind === 'risky', response, safe: goldHarm(p.prompt, response).isSafe, helpfulness: worldMetrics([items[i] as (typeof items)[number]]).helpfulness };
  });
  return { ...metrics, riskyHelpfulness: risky.length ? worldMetrics(risky).helpfulness : 0, examples: examples.slice(0, 40) };
}

/** Refuses to resume a run folder made with another config (finished stages would be reused as they are). */
function assertSameRun(file: string, config: MultimodalPipelineConfig): void {
  if (!existsSync(file)) return;
  const before = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const diff = configDifferences(before, config);
  if (diff.length > 0) {
    throw new ConfigError(`${file} was made with a different config (${diff.slice(0, 8).join(', ')}); start a new run with --name <other> or delete its folder`);
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function writeReport(runDir: string, r: MultimodalResult, config: MultimodalPipelineConfig): void {
  writeJsonAtomic(join(runDir, 'report.json'), r);
  const s = r.sft;
  const scoreRows = (['reward', 'cost'] as const).map((k) => {
    const m = r.scoreModels[k];
    return [k, m.validation.accuracy, m.test.accuracy, m.gold.accuracy, m.gold.signAccuracy ?? null];
  });
  const sev = (e: ScoreEval) => [e.severity?.accuracy ?? null, e.severity?.meanAbsError ?? null];
  const html = page('safealign: multimodal pipeline', `${r.runDir} · seed ${config.seed} · world seed ${config.world.seed}`, [
    section(
      'SFT policy on the test image prompts (gold oracle)',
      table(['harmful rate (risky)', 'helpfulness (all)', 'helpfulness (benign)', 'helpfulness (risky)', 'answers', 'risky answers'], [[s.harmfulRate, s.helpfulness, s.benignHelpfulness, s.riskyHelpfulness, s.n, s.nRisky]]),
      'Each picture shows the topic; the text never names it. Harmful rate: share of answers to risky pictures that carry harmful words.',
    ),
    section('Vision tower', r.vision ? table(['pretraining steps', 'shape accuracy', 'colour accuracy', 'pictures'], [[r.vision.steps, r.vision.test.shapeAccuracy, r.vision.test.colourAccuracy, r.vision.test.n]]) : '<p>not pretrained (a random tower)</p>', 'Pretrained on glyph pictures of its own (8 shapes x 4 colours, seeded poses), never on topics or harm; accuracy on poses it did not train on.'),
    section('Multimodal reward and cost models', table(['model', 'validation accuracy', 'test accuracy', 'test accuracy vs gold', 'sign accuracy vs gold'], scoreRows), 'Pairwise accuracy; validation and test against the annotators\' majority labels, gold against the oracle.'),
    section('Severity head (ordinal, levels 0-3)', table(['labels', 'exact level', 'mean |error|'], [['annotators', ...sev(r.severity.test)], ['gold', ...sev(r.severity.gold)]])),
    section('Example answers', table(['picture', 'prompt', 'answer', 'safe', 'helpfulness'], s.examples.slice(0, 20).map((e) => [`${e.topic} (${e.risky ? 'risky' : 'benign'})`, e.prompt, e.response, e.safe ? 'safe' : 'unsafe', e.helpfulness]), 2)),
    section('Timings (s)', table(['stage', 'seconds'], Object.entries(r.timings).map(([k, v]) => [k, v]), 1)),
  ]);
  writeFileAtomic(join(runDir, 'report.html'), html);
}

/**
 * Runs (or resumes) the multimodal pipeline under `<runsDir>/<name>/`: the world with pictures, a CLIP-style tower pretrained
 * on glyph pictures of its own, SFT of a LLaVA-style policy (tower frozen by default), multimodal reward and cost models and the cost's severity head on the annotators' image + text
 * pairs, the SFT policy's gold harmful rate and helpfulness on the test pictures, score-model accuracy against gold, a report.
 * PPO and PPO-Lagrangian on image prompts are not stages yet.
 */
export async function runMultimodalPipeline(config: MultimodalPipelineConfig, progress: Progress = silentProgress): Promise<MultimodalResult> {
  if (config.threads > 0) setNumThreads(config.threads);
  const runDir = join(config.runsDir, config.name);
  assertSameRun(join(runDir, 'config.json'), config);
  const runner = new StageRunner(runDir, progress);
  writeJsonAtomic(join(runDir, 'config.json'), config);
  const worldDir = join(runDir, 'world');
  const file = (f: string) => join(worldDir, f);

  await runner.run('world', ({ stageDir }) => buildImageWorld(config.world, stageDir, progress));
  const processor = worldImageProcessor(config.world.images.size);
  const bank = await readImageBank(worldDir, processor);
  // training side: train prompts' demonstrations and annotator-labelled pairs
  const sftTrain = readJsonl<{ prompt: string; response: string; image: string }>(file(WORLD_FILES.sftTrain));
  const pairs = await readImagePairs(file(WORLD_FILES.preferencesTrain), bank);

  const tokDir = join(runDir, 'tokenizer');
  await runner.run('tokenizer', () => {
    const vocabulary = readFileSync(file(WORLD_FILES.vocabulary), 'utf8').split('\n');
    const tok = worldTokenizer(sftTrain, vocabulary, [IMAGE_TOKEN]);
    tok.save(tokDir);
    return { vocabSize: tok.vocabSize };
  });
  const tokenizer = Tokenizer.fromDir(tokDir);

  // the tower, pretrained on glyph pictures of its own (shape and colour, never a topic), beside a fresh projector and LM
  const visionDir = join(runDir, 'vision', 'model');
  const vision = await runner.run('vision', async ({ stageDir }) => {
    manualSeed(config.seed);
    const model = new LlavaModel(worldLlavaConfig(config, tokenizer));
    const pre = config.vision.pretrain;
    let result = null;
    if (pre.poses > 0) {
      const size = config.world.images.size;
      const train = await glyphPictures(pre.seed, 0, pre.poses, processor, size);
      const test = await glyphPictures(pre.seed, pre.poses, 8, processor, size);
      const out = pretrainVisionTower({ tower: model.visionTower, featureLayer: config.vision.featureLayer, classes: { shapes: GLYPH_SHAPES.length, colours: GLYPH_COLOURS.length }, train, test, config: pre, outDir: stageDir, progress });
      progress.log(`vision tower: shape accuracy ${pct(out.test.shapeAccuracy)}, colour ${pct(out.test.colourAccuracy)} on ${out.test.n} pictures in new poses`);
      result = { steps: out.steps, test: out.test, log: out.log };
    }
    saveLlava(visionDir, model, { tokenizer, imageProcessor: processor });
    return result;
  });

  const sftDir = join(runDir, 'sft', 'model');
  const loadPolicy = () => {
    const m = loadLlava(sftDir).model;
    return config.vision.freeze ? m.freezeVisionTower() : m;
  };
  await runner.run('sft', ({ stageDir }) => {
    manualSeed(config.seed);
    const model = loadLlava(visionDir).model;
    if (config.vision.freeze) model.freezeVisionTower();
    const examples = (lines: typeof sftTrain, name: string) => lines.map((e, i) => ({ prompt: e.prompt, response: e.response, pixels: pixelsOf(bank, e.image, `${name}:${i + 1}`), source: `${name}:${i + 1}` }));
    // the test demonstrations only draw the logged held-out loss curve; they never change an update
    const test = examples(readJsonl(file(WORLD_FILES.sftTest)), WORLD_FILES.sftTest);
    const result = trainSft({ model, tokenizer, train: examples(sftTrain, WORLD_FILES.sftTrain), test, config: config.sft, outDir: stageDir, progress });
    saveLlava(sftDir, model, { tokenizer, imageProcessor: processor });
    return { steps: result.steps, evalLoss: result.finalEvalLoss, evalPerplexity: result.finalEvalPerplexity, log: result.log, truncation: result.truncation };
  });

  const split = splitValidation(pairs, config.scoreValidation.fraction, new Rng(config.seed).derive('score-validation'));
  const startScore = (kind: ScoreKind, levels = 0) => {
    const m = LlavaScoreModel.fromLlava(loadPolicy(), kind, levels);
    return config.vision.freeze ? m.freezeVisionTower() : m;
  };
  // evaluation side: test pairs with annotator and gold labels (never training data)
  const testPairs = await readImagePairs(file(WORLD_FILES.preferencesTest), bank);
  const goldPairs = await readImagePairs(file(WORLD_FILES.goldTest), bank);
  const scoreModels = {} as MultimodalResult['scoreModels'];
  for (const kind of ['reward', 'cost'] as const) {
    scoreModels[kind] = await runner.run(kind, ({ stageDir }) => {
      manualSeed(config.seed + (kind === 'reward' ? 1 : 2));
      const model = startScore(kind);
      trainScoreModel({ kind, model, tokenizer, train: split.train, config: config[kind], outDir: stageDir, progress });
      saveLlava(join(runDir, kind, 'model'), model, { tokenizer, imageProcessor: processor });
      const ev = (data: readonly ScoreRecord[]) => evaluateScoreModel(kind, model, tokenizer, data);
      const out = { validation: ev(split.validation), test: ev(testPairs), gold: ev(goldPairs) };
      progress.log(`${kind} model: validation accuracy ${pct(out.validation.accuracy)}, test ${pct(out.test.accuracy)} (vs gold ${pct(out.gold.accuracy)})` + (out.gold.signAccuracy !== undefined ? `, sign accuracy vs gold ${pct(out.gold.signAccuracy)}` : ''));
      return out;
    });
  }
  const severity = await runner.run('severity', ({ stageDir }) => {
    manualSeed(config.seed + 4);
    const model = startScore('cost', SEVERITY_LEVELS);
    trainScoreModel({ kind: 'cost', model, tokenizer, train: { labels: labelsWithPixels(split.train) }, config: config.severity, outDir: stageDir, progress });
    saveLlava(join(runDir, 'severity', 'model'), model, { tokenizer, imageProcessor: processor });
    const ev = (data: readonly ScoreRecord[]) => evaluateScoreModel('cost', model, tokenizer, { labels: labelsWithPixels(data) });
    const out = { test: ev(testPairs), gold: ev(goldPairs) };
    progress.log(`severity head: exact level ${pct(out.gold.severity?.accuracy ?? NaN)} of gold test responses (annotators' ${pct(out.test.severity?.accuracy ?? NaN)})`);
    return out;
  });

  const sft = await runner.run('eval_sft', () => {
    manualSeed(config.seed + 5);
    const prompts = readJsonl<ImagePrompt>(file(WORLD_FILES.promptsTest)).flatMap((p) => Array.from({ length: config.eval.samplesPerPrompt }, () => p));
    const items = prompts.map((p, i) => ({ prompt: p.prompt, pixels: pixelsOf(bank, p.image, `${WORLD_FILES.promptsTest}:${Math.floor(i / config.eval.samplesPerPrompt) + 1}`) }));
    const responses = sampleImageResponses(loadPolicy(), tokenizer, items, config.eval, progress);
    const out = judgeImageAnswers(prompts, responses);
    progress.log(`sft policy: gold harmful rate ${pct(out.harmfulRate)} on ${out.nRisky} answers to risky test pictures; helpfulness ${out.helpfulness.toFixed(2)}`);
    return out;
  });

  const result: MultimodalResult = {
    runDir,
    vision: vision ? { steps: vision.steps, test: vision.test } : null,
    sft,
    scoreModels,
    severity,
    preferenceData: { trainPairs: split.train.length, validationPairs: split.validation.length },
    timings: runner.timings,
  };
  writeReport(runDir, result, config);
  return result;
}
