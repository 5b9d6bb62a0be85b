// The image + text pipeline on the multimodal world: world -> SFT of a LLaVA-style policy -> multimodal reward, cost and severity models -> PPO and PPO-Lagrangian on image prompts -> evaluation -> report.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunks, encodePrompt, padPromptsLeft } from '../algorithms/common/batching.js';
import { imageTokensOf } from '../algorithms/common/model-input.js';
import { labelsWithPixels, type ScoreRecord } from '../algorithms/score/items.js';
import { evaluateScoreModel, trainScoreModel, type ScoreEval, type ScoreKind } from '../algorithms/score/train.js';
import { trainSft } from '../algorithms/sft/train.js';
import { pretrainVisionTower, type LabelledPicture } from '../algorithms/vision-pretrain/train.js';
import { ppoMethod } from '../algorithms/ppo/method.js';
import { ppoLagMethod } from '../algorithms/ppo-lag/method.js';
import { criticStreams, type RlMethod, type StreamName } from '../algorithms/rl/method.js';
import { responseSlice } from '../algorithms/rl/rollout.js';
import { decodeResponses } from '../algorithms/rl/step-log.js';
import { trainRl, type RlLogRecord, type RlModels, type RlPrompt } from '../algorithms/rl/train.js';
import { ConfigError } from '../config/schema-cli.js';
import { writeFileAtomic, writeJsonAtomic } from '../core/fs-atomic.js';
import { silentProgress, type Progress } from '../core/progress.js';
import { readBeaverTailsV } from '../data/beavertails-v.js';
import { page, section, table } from '../eval/html.js';
import { lagrangeTrace, trainingCurves } from '../eval/plots.js';
import { worldMetrics, type WorldMetrics } from '../eval/world-metrics.js';
import { sequenceLogProbs } from '../models/generate.js';
import { loadLlava, loadLlavaScoreModel, saveLlava } from '../models/hf-vision.js';
import { ImageProcessorConfigSchema, preprocessImages, type ImageProcessorConfig } from '../models/image-processor.js';
import { LlavaModel, LlavaScoreModel } from '../models/llava.js';
import { Tokenizer } from '../models/tokenizer.js';
import { parseLlavaConfig, type LlavaConfig } from '../models/vision-config.js';
import { cat, manualSeed, noGrad, setNumThreads, tensor, tidy, type Tensor } from '../torch/index.js';
import { buildImageWorld, WORLD_FILES } from '../world/build.js';
import { GLYPH_COLOURS, GLYPH_SHAPES, glyphCatalogue, imagePose, renderGlyph } from '../world/images.js';
import { goldHarm, goldHelpfulness } from '../world/oracle.js';
import { IMAGE_ASK } from '../world/prompts.js';
import { generateResponse } from '../world/responses.js';
import { Rng } from '../world/rng.js';
import { readJsonl, worldRlPrompt } from './jsonl-lines.js';
import { policyGpt2Config } from './config.js';
import { MultimodalPipelineConfigSchema, type MultimodalPipelineConfig } from './multimodal-config.js';
import { configDifferences, readSavedConfig } from './run.js';
import { lagrangeSeries, rlCurvePoints, RL_CURVES } from './report.js';
import { assertThresholdSource, pipelineThreshold, splitValidation } from './score-validation.js';
import { StageRunner } from './stages.js';
import { worldTokenizer } from './world-tokenizer.js';

/** The placeholder an image prompt's text carries; the tokenizer keeps it whole, the LLaVA config names its id. */
export const IMAGE_TOKEN = '<image>';

/** Severity levels of the ordinal head: 0 safe, 1 minor, 2 moderate, 3 severe (PKU-SafeRLHF / BeaverTails-V). */
const SEVERITY_LEVELS = 4;

/** Answers to image prompts judged by the gold oracle with each prompt's picture. */
export interface ImageJudgement extends WorldMetrics {
  /** Mean gold helpfulness of the answers to risky prompts. */
  riskyHelpfulness: number;
  examples: { prompt: string; image: string; topic: string; risky: boolean; response: string; safe: boolean; helpfulness: number }[];
}

/** A policy's answers to the test image prompts: gold judgement, scores, KL to the SFT policy. */
export interface ImagePolicyEval extends ImageJudgement {
  /** Mean over answers of Σ_t (log π − log π_SFT) of the answer's tokens (the SFT policy: ≈ 0). */
  kl: number;
  /** Mean end score of the answers under the run's reward and cost models (with their pictures). */
  meanReward: number;
  meanCost: number;
  /** Mean answer tokens. */
  responseLength: number;
}

/** The policies of a run, in report order: the SFT policy and the two RL stages trained from it. */
export const MULTIMODAL_POLICIES = ['sft', 'ppo', 'ppo_lag'] as const;
export type MultimodalPolicy = (typeof MULTIMODAL_POLICIES)[number];

export interface MultimodalResult {
  runDir: string;
  /** The SFT, PPO and PPO-Lagrangian policies on the test image prompts (gold oracle). */
  models: Record<MultimodalPolicy, ImagePolicyEval>;
  /** Per-step logs of the RL stages (reward, cost, KL, λ, J_c, gold metrics of the rollouts). */
  training: Record<'ppo' | 'ppo_lag', RlLogRecord[]>;
  /** PPO-Lagrangian's cost threshold d (set by the user or calibrated on the validation split). */
  threshold: number;
  /** Accuracy on the validation split (annotator labels), the test pairs (annotator labels) and the same pairs' gold labels. */
  scoreModels: Record<ScoreKind, { validation: ScoreEval; test: ScoreEval; gold: ScoreEval }>;
  /**
   * Whether the reward model reads which topic a test picture asks about: its accuracy on pairs of the pictured topic's own
   * answer against an answer about another topic (evaluation only; absent in runs finished before it existed).
   */
  topicReading?: TopicReading;
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

/** A policy's answers to image prompts, in prompt order, with each answer's KL to the reference, reward and cost model scores and length. */
export interface ImageAnswers {
  responses: string[];
  /** Σ_t (log π − log π_ref) over the answer's tokens. */
  kl: number[];
  reward: number[];
  cost: number[];
  lengths: number[];
}

/**
 * One answer per item from an image + text policy (sampled at `temperature`), in item order, each scored: its KL to
 * `scoring.reference` and the reward and cost models' end scores, every model reading the item's picture.
 */
export function answerImagePrompts(
  policy: LlavaModel,
  tokenizer: Tokenizer,
  items: readonly { prompt: string; pixels: Tensor }[],
  config: { temperature: number; maxNewTokens: number; batchSize: number },
  scoring: { reference: LlavaModel; reward: LlavaScoreModel; cost: LlavaScoreModel },
  progress: Progress = silentProgress,
  label = 'answer test image prompts',
): ImageAnswers {
  const image = imageTokensOf(policy, tokenizer);
  const padId = tokenizer.padId ?? 0;
  const out: ImageAnswers = { responses: [], kl: [], reward: [], cost: [], lengths: [] };
  progress.start(label, items.length);
  for (const m of [policy, scoring.reference, scoring.reward, scoring.cost]) m.eval();
  noGrad(() => {
    for (const batch of chunks(items, config.batchSize)) {
      tidy(() => {
        const prompts = batch.map((p) => encodePrompt(tokenizer, p, image ? { image } : {}));
        const { ids, attentionMask } = padPromptsLeft(prompts, padId);
        const pixels = cat(batch.map((p) => p.pixels), 0);
        const gen = policy.generate(tensor(ids, { dtype: 'int64' }), tensor(attentionMask, { dtype: 'int64' }), pixels, {
          maxNewTokens: config.maxNewTokens,
          temperature: config.temperature,
          padId,
          ...(tokenizer.eosId !== undefined ? { stopTokenIds: [tokenizer.eosId] } : {}),
        });
        const promptLength = (ids[0] as number[]).length;
        const t = gen.responseMask.shape[1] as number;
        const mask = gen.responseMask.float();
        out.responses.push(...decodeResponses(tokenizer, gen.sequences.narrow(1, promptLength, t), gen.responseMask));
        const { reference } = scoring;
        const refLogProbs = responseSlice(sequenceLogProbs(reference.languageModel, gen.sequences, gen.attentionMask, 0, reference.embed(gen.sequences, pixels)), promptLength, t);
        out.kl.push(...gen.logProbs.sub(refLogProbs).mul(mask).sum(1).toNumbers());
        out.reward.push(...scoring.reward.forward(gen.sequences, gen.attentionMask, pixels).endScores.toNumbers());
        out.cost.push(...scoring.cost.forward(gen.sequences, gen.attentionMask, pixels).endScores.toNumbers());
        out.lengths.push(...mask.sum(1).toNumbers());
      });
      progress.update(out.responses.length);
    }
  });
  progress.stop();
  return out;
}

/** Gold harmful rate (risky prompts) and helpfulness of answers to image prompts, each judged with its picture's topic. */
export function judgeImageAnswers(prompts: readonly ImagePrompt[], responses: readonly string[]): ImageJudgement {
  const items = prompts.map((p, i) => ({ prompt: p.prompt, response: responses[i] ?? '', risky: p.kind === 'risky', imageTopic: p.topic }));
  const metrics = worldMetrics(items);
  const risky = items.filter((it) => it.risky);
  // up to 40 examples spread evenly over the prompts (every topic, benign and risky), the same answers' positions for every policy
  const shown = Array.from({ length: Math.min(40, prompts.length) }, (_, j) => Math.floor((j * prompts.length) / Math.min(40, prompts.length)));
  const examples = shown.map((i) => {
    const p = prompts[i] as ImagePrompt;
    const response = responses[i] ?? '';
    return { prompt: p.prompt, image: p.image, topic: p.topic, risky: p.kind === 'risky', response, safe: goldHarm(p.prompt, response).isSafe, helpfulness: worldMetrics([items[i] as (typeof items)[number]]).helpfulness };
  });
  return { ...metrics, riskyHelpfulness: risky.length ? worldMetrics(risky).helpfulness : 0, examples };
}

/**
 * The models of an RL stage: the SFT policy as actor and as the frozen reference, the run's reward and cost models as the
 * scorers, and a critic per critic stream of `method`, each started from that stream's score model.
 */
export function imageRlModels(method: RlMethod, load: { policy: () => LlavaModel; score: (kind: ScoreKind) => LlavaScoreModel }): RlModels {
  const critics: Partial<Record<StreamName, LlavaScoreModel>> = {};
  for (const s of criticStreams(method)) critics[s] = LlavaScoreModel.fromScoreModel(load.score(s), 'critic');
  return { actor: load.policy(), reference: load.policy(), rewardModel: load.score('reward'), costModel: load.score('cost'), critics };
}

/** A reward model's pairwise accuracy on own-topic vs other-topic answers, on benign and on risky test pictures. */
export interface TopicReading {
  benign: { accuracy: number; n: number };
  risky: { accuracy: number; n: number };
}

/**
 * How well a reward model reads which topic a picture asks about: on each picture, `perPicture` pairs of the pictured
 * topic's own answer (a helpful one to a benign picture, a redirect to a risky one; the world's generator) against a helpful
 * answer about another benign topic, which gold values at nothing for that picture. Its pairwise accuracy per prompt kind.
 * Nothing in the world's pairs rewards this unless they hold off-topic answers (`world.pairs.offTopicRate`).
 */
export function topicReading(
  reward: LlavaScoreModel,
  tokenizer: Tokenizer,
  pictures: readonly (ImagePrompt & { pixels: Tensor })[],
  perPicture: number,
  rng: Rng,
): TopicReading {
  const byKind = (kind: 'benign' | 'risky') => {
    const records: ScoreRecord[] = pictures
      .filter((p) => p.kind === kind)
      .flatMap((p) =>
        Array.from({ length: perPicture }, (): ScoreRecord => {
          const own = generateResponse({ topic: p.topic, ask: IMAGE_ASK }, kind === 'benign' ? 'helpful' : 'redirect', rng);
          const other = generateResponse({ topic: p.topic, ask: IMAGE_ASK }, 'off-topic', rng);
          const better = goldHelpfulness(p.prompt, own, p.topic) >= goldHelpfulness(p.prompt, other, p.topic) ? 0 : 1;
          return { prompt: p.prompt, responses: [own, other], betterResponseId: better, pixels: p.pixels };
        }),
      );
    return { accuracy: records.length ? evaluateScoreModel('reward', reward, tokenizer, records).accuracy : NaN, n: records.length };
  };
  return { benign: byKind('benign'), risky: byKind('risky') };
}

/** Refuses to resume a run folder made with another config (finished stages would be reused as they are). */
function assertSameRun(file: string, config: MultimodalPipelineConfig): void {
  if (!existsSync(file)) return;
  const before = readSavedConfig(file, MultimodalPipelineConfigSchema);
  const diff = configDifferences(before, config);
  if (diff.length > 0) {
    throw new ConfigError(`${file} was made with a different config (${diff.slice(0, 8).join(', ')}); start a new run with --name <other> or delete its folder`);
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

async function writeReport(runDir: string, r: MultimodalResult, config: MultimodalPipelineConfig): Promise<void> {
  writeJsonAtomic(join(runDir, 'report.json'), r);
  const models = MULTIMODAL_POLICIES.map((k) => [k, r.models[k]] as const);
  const modelRows = models.map(([k, m]) => [k, m.harmfulRate, m.helpfulness, m.benignHelpfulness, m.riskyHelpfulness, m.meanReward, m.meanCost, m.kl, m.responseLength, m.nRisky]);
  const scoreRows = (['reward', 'cost'] as const).map((k) => {
    const m = r.scoreModels[k];
    return [k, m.validation.accuracy, m.test.accuracy, m.gold.accuracy, m.gold.signAccuracy ?? null];
  });
  const sev = (e: ScoreEval) => [e.severity?.accuracy ?? null, e.severity?.meanAbsError ?? null];
  const curves = rlCurvePoints(r.training);
  const lag = lagrangeSeries(r.training.ppo_lag);
  const [curvesSvg, lagSvg] = await Promise.all([curves.length ? trainingCurves(curves, RL_CURVES) : Promise.resolve(''), lag.length ? lagrangeTrace(lag, r.threshold) : Promise.resolve('')]);
  const { sft, ppo_lag: lagM } = r.models;
  const headline = `${r.runDir} · seed ${config.seed} · world seed ${config.world.seed} · harmful on risky pictures: SFT ${pct(sft.harmfulRate)} → PPO-Lag ${pct(lagM.harmfulRate)}; helpfulness ${sft.helpfulness.toFixed(2)} → ${lagM.helpfulness.toFixed(2)}`;
  const answer = (m: ImagePolicyEval, i: number) => {
    const e = m.examples[i];
    return e ? [e.response, e.safe ? 'safe' : 'unsafe', e.helpfulness] : ['', '', null];
  };
  const html = page('safealign: multimodal pipeline', headline, [
    section(
      'Policies on the test image prompts (gold oracle)',
      table(['model', 'harmful rate (risky)', 'helpfulness (all)', 'helpfulness (benign)', 'helpfulness (risky)', 'mean reward', 'mean cost', 'KL to SFT', 'length', 'risky answers'], modelRows),
      `Each picture shows the topic; the text never names it. Harmful rate: share of answers to risky pictures that carry harmful words. Reward and cost: the run's models, reading the picture. KL: mean Σ log π/π_SFT per answer. PPO-Lagrangian's d = ${r.threshold.toFixed(3)}.`,
    ),
    lagSvg ? section('Lagrange multiplier', lagSvg) : '',
    curvesSvg ? section('Training curves', curvesSvg, "Per RL step, over the step's rollouts on train pictures (gold metrics logged, never trained on).") : '',
    section('Vision tower', r.vision ? table(['pretraining steps', 'shape accuracy', 'colour accuracy', 'pictures'], [[r.vision.steps, r.vision.test.shapeAccuracy, r.vision.test.colourAccuracy, r.vision.test.n]]) : '<p>not pretrained (a random tower)</p>', 'Pretrained on glyph pictures of its own (8 shapes x 4 colours, seeded poses), never on topics or harm; accuracy on poses it did not train on.'),
    section('Multimodal reward and cost models', table(['model', 'validation accuracy', 'test accuracy', 'test accuracy vs gold', 'sign accuracy vs gold'], scoreRows), 'Pairwise accuracy; validation and test against the annotators\' majority labels, gold against the oracle.'),
    r.topicReading
      ? section(
          'Does the reward model read the picture?',
          table(['test pictures', 'pairs', "accuracy (the pictured topic's answer over another topic's)"], [['benign (helpful answer)', r.topicReading.benign.n, r.topicReading.benign.accuracy], ['risky (redirect)', r.topicReading.risky.n, r.topicReading.risky.accuracy]]),
          "On each test picture, the pictured topic's own answer against a helpful answer about another topic (worth nothing for that picture by gold). A reward model that does not read the picture is near 50% here, and RL on it learns to answer with any topic's words.",
        )
      : '',
    section('Severity head (ordinal, levels 0-3)', table(['labels', 'exact level', 'mean |error|'], [['annotators', ...sev(r.severity.test)], ['gold', ...sev(r.severity.gold)]])),
    section(
      'Example answers: SFT vs PPO-Lagrangian',
      table(['picture', 'prompt', 'SFT answer', 'gold', 'help', 'PPO-Lag answer', 'gold', 'help'], sft.examples.map((e, i) => [`${e.topic} (${e.risky ? 'risky' : 'benign'})`, e.prompt, ...answer(sft, i), ...answer(lagM, i)]), 2),
    ),
    section('Timings (s)', table(['stage', 'seconds'], Object.entries(r.timings).map(([k, v]) => [k, v]), 1)),
  ]);
  writeFileAtomic(join(runDir, 'report.html'), html);
}

/**
 * Runs (or resumes) the multimodal pipeline under `<runsDir>/<name>/`: the world with pictures, a CLIP-style tower pretrained
 * on glyph pictures of its own, SFT of a LLaVA-style policy (tower frozen by default), multimodal reward and cost models and the cost's severity head on the annotators' image + text
 * pairs, PPO and PPO-Lagrangian from the SFT policy on the train pictures (the run's reward and cost models as scorers, towers
 * frozen by default, d calibrated on the validation split), each policy's gold harmful rate, helpfulness and KL to SFT on the
 * test pictures, score-model accuracy against gold, a report.
 */
export async function runMultimodalPipeline(config: MultimodalPipelineConfig, progress: Progress = silentProgress): Promise<MultimodalResult> {
  assertThresholdSource(config.ppoLag.lagrange.threshold, config.scoreValidation.fraction);
  if (config.rl.ptxCoef > 0) throw new ConfigError(`rl.ptxCoef is ${config.rl.ptxCoef}, but the PTX loss reads text demonstrations and the multimodal pipeline's have pictures: set it to 0`);
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

  // evaluation: every policy answers the same test pictures with the same seed, judged by gold, scored by the run's models
  const testLines = readJsonl<ImagePrompt>(file(WORLD_FILES.promptsTest));
  const testPrompts = testLines.flatMap((p) => Array.from({ length: config.eval.samplesPerPrompt }, () => p));
  const testItems = testPrompts.map((p, i) => ({ prompt: p.prompt, pixels: pixelsOf(bank, p.image, `${WORLD_FILES.promptsTest}:${Math.floor(i / config.eval.samplesPerPrompt) + 1}`) }));
  const loadScore = (kind: ScoreKind) => loadLlavaScoreModel(join(runDir, kind, 'model')).model;

  // does the reward model read which topic a picture asks about? (each test picture once; gold judges the pairs)
  const reading = await runner.run('topic_reading', () => {
    const pictures = [...new Map(testLines.map((p, i) => [p.image, { ...p, pixels: pixelsOf(bank, p.image, `${WORLD_FILES.promptsTest}:${i + 1}`) }])).values()];
    const out = topicReading(loadScore('reward'), tokenizer, pictures, 10, new Rng(config.seed).derive('topic-reading'));
    progress.log(`reward model on the pictured topic's answer vs another topic's: ${pct(out.benign.accuracy)} right on benign test pictures, ${pct(out.risky.accuracy)} on risky ones (redirects)`);
    return out;
  });
  const evaluate = (name: string, policy: LlavaModel): ImagePolicyEval => {
    const scoring = { reference: loadPolicy(), reward: loadScore('reward'), cost: loadScore('cost') };
    // seeded after the models are made (their construction draws random numbers): every policy answers with the same stream
    manualSeed(config.seed + 5);
    const a = answerImagePrompts(policy, tokenizer, testItems, config.eval, scoring, progress, `${name}: answer test image prompts`);
    const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : NaN);
    const out = { ...judgeImageAnswers(testPrompts, a.responses), kl: mean(a.kl), meanReward: mean(a.reward), meanCost: mean(a.cost), responseLength: mean(a.lengths) };
    progress.log(`${name} policy: gold harmful rate ${pct(out.harmfulRate)} on ${out.nRisky} answers to risky test pictures; helpfulness ${out.helpfulness.toFixed(2)}; KL to SFT ${out.kl.toFixed(2)}`);
    return out;
  };
  const sft = await runner.run('eval_sft', () => evaluate('sft', loadPolicy()));

  // --- PPO and PPO-Lagrangian on the train pictures, from the SFT policy ----------------------------
  const rl = config.rl;
  const { thresholdQuantile: _q, ...lag } = config.ppoLag.lagrange;
  const threshold = pipelineThreshold(config.ppoLag.lagrange, scoreModels.cost.validation, progress);
  const methods: ['ppo' | 'ppo_lag', () => RlMethod][] = [
    ['ppo', () => ppoMethod({ klCoef: config.ppo.klCoef, scoreClip: rl.scoreClip })],
    ['ppo_lag', () => ppoLagMethod({ klCoef: config.ppoLag.klCoef, scoreClip: rl.scoreClip, lagrange: { ...lag, threshold } })],
  ];
  // each train prompt with its picture's pixels; the pictured topic is read by the per-step gold log only
  const trainPrompts: RlPrompt[] = readJsonl<ImagePrompt>(file(WORLD_FILES.promptsTrain)).map((line, i) => {
    const source = `${WORLD_FILES.promptsTrain}:${i + 1}`;
    return { ...worldRlPrompt(line), image: pixelsOf(bank, line.image, source).select(0, 0), imageTopic: line.topic, source };
  });
  const training = {} as MultimodalResult['training'];
  const models = { sft } as MultimodalResult['models'];
  for (const [key, make] of methods) {
    const result = await runner.run(key, ({ stageDir }) => {
      manualSeed(config.seed + 10);
      const method = make();
      const rlModels = imageRlModels(method, { policy: loadPolicy, score: loadScore });
      const actor = rlModels.actor as LlavaModel;
      const out = trainRl({
        method,
        models: rlModels,
        tokenizer,
        prompts: trainPrompts,
        config: { ...rl, seed: config.seed },
        outDir: stageDir,
        // per-step gold metrics of the rollouts, each judged with its picture: logged only
        judge: worldMetrics,
        progress,
      });
      saveLlava(join(stageDir, 'model'), actor, { tokenizer, imageProcessor: processor });
      return { log: out.log, eval: evaluate(key, actor), truncation: out.truncation };
    });
    training[key] = result.log;
    models[key] = result.eval;
  }

  const result: MultimodalResult = {
    runDir,
    vision: vision ? { steps: vision.steps, test: vision.test } : null,
    models,
    training,
    threshold,
    scoreModels,
    topicReading: reading,
    severity,
    preferenceData: { trainPairs: split.train.length, validationPairs: split.validation.length },
    timings: runner.timings,
  };
  await writeReport(runDir, result, config);
  progress.log(`report: ${join(runDir, 'report.html')} (and report.json)`);
  return result;
}
