// RL on the user's own model folders: loads actor, reference, reward/cost models and prompts, sets d, runs trainRl, writes the actor, log and report.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { useDevice } from '../../config/device.js';
import { ConfigError } from '../../config/schema-cli.js';
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic.js';
import { dataParallel } from '../../distributed/data-parallel.js';
import { silentProgress, type Progress } from '../../core/progress.js';
import { readPkuSafeRlhf } from '../../data/pku-saferlhf.js';
import { formatProblem, type DataProblem } from '../../data/problems.js';
import { readPrompts, type PromptFile } from '../../data/prompts.js';
import { detectLabelFormat, loadSafetyLabels } from '../../data/safety-labels.js';
import { readSftData } from '../../data/sft-examples.js';
import { rlRunReport } from '../../eval/rl-report.js';
import type { ImageSource } from '../../data/beavertails-v.js';
import { CausalLM, loadLlava, loadLlavaScoreModel, loadPretrained, LlavaScoreModel, saveLlava, savePretrained, ScoreModel, type LlavaModel, type SequenceScorer, type Tokenizer } from '../../models/index.js';
import { readJson } from '../../models/hf.js';
import { preprocessImages, type ImageProcessorConfig } from '../../models/image-processor.js';
import type { EnsembleReduce } from '../../rl/index.js';
import { ScoreEnsemble, WORSE } from '../score/ensemble.js';
import { grpoMethod, safeGrpoMethod } from '../grpo/method.js';
import { ppoLagMethod } from '../ppo-lag/method.js';
import { calibrateThreshold } from '../ppo-lag/threshold.js';
import { ppoMethod } from '../ppo/method.js';
import { rewardShapingMethod } from '../reward-shaping/method.js';
import { p3oMethod } from '../p3o/method.js';
import { rlooLagMethod } from '../rloo-lag/method.js';
import { evaluateScoreModel, type ScoreData } from '../score/train.js';
import type { RlFolderMethod, RlFoldersConfig } from './folders-config.js';
import { readsImages, type CriticModel, type PolicyModel, type RlScorer } from './images.js';
import { criticStreams, type RlMethod, type StreamName } from './method.js';
import { trainRl, type RlLogRecord, type RlPrompt, type RlTruncation } from './train.js';

/** Builds each method from the run's settings; `constrained` methods learn λ against the threshold d they are given. */
const METHODS: Record<RlFolderMethod, { constrained: boolean; make: (c: RlFoldersConfig, threshold: number) => RlMethod }> = {
  'ppo-lag': { constrained: true, make: (c, threshold) => ppoLagMethod({ klCoef: c.klCoef, scoreClip: c.rl.scoreClip, lagrange: { ...c.lagrange, threshold } }) },
  ppo: { constrained: false, make: (c) => ppoMethod({ klCoef: c.klCoef, scoreClip: c.rl.scoreClip }) },
  shaping: { constrained: false, make: (c) => rewardShapingMethod({ klCoef: c.klCoef, scoreClip: c.rl.scoreClip, nu: c.nu }) },
  grpo: { constrained: false, make: (c) => grpoMethod({ ...c.grpo, klCoef: c.klCoef, scoreClip: c.rl.scoreClip }) },
  'safe-grpo': {
    constrained: true,
    make: (c, threshold) => safeGrpoMethod({ klCoef: c.klCoef, scaleRewards: c.grpo.scaleRewards, scoreClip: c.rl.scoreClip, lagrange: { ...c.lagrange, threshold } }),
  },
  'rloo-lag': { constrained: true, make: (c, threshold) => rlooLagMethod({ klCoef: c.klCoef, scoreClip: c.rl.scoreClip, lagrange: { ...c.lagrange, threshold } }) },
  p3o: { constrained: false, make: (c) => p3oMethod({ ...c.p3o, klCoef: c.klCoef, scoreClip: c.rl.scoreClip }) },
};

export interface RlFoldersResult {
  method: RlFolderMethod;
  steps: number;
  /** d of the constraint (ppo-lag, safe-grpo, rloo-lag), and how it was set. */
  threshold?: { value: number; from: 'flag' | string };
  prompts: { file: string; format: string; read: number; unreadable: number };
  truncation: RlTruncation;
  /** The last step's record. */
  last: RlLogRecord | undefined;
  outDir: string;
}

/** True when `dir`'s config.json is a LLaVA-style image + text model's (`model_type: "llava"`). */
export function isLlavaFolder(dir: string): boolean {
  const path = join(dir, 'config.json');
  return existsSync(path) && (readJson(path) as { model_type?: unknown }).model_type === 'llava';
}

/** The causal LM of an HF folder and its tokenizer; `role` names the flag in the error (a LLaVA folder is refused: see `loadPolicy`). */
export function loadCausalLM(dir: string, role: string): { model: CausalLM; tokenizer: Tokenizer | undefined } {
  const loaded = loadPretrained(dir);
  if (!(loaded.model instanceof CausalLM)) throw new ConfigError(`--${role} ${dir}: expected a causal LM folder, found a ${loaded.model.scoreType} model`);
  return { model: loaded.model, tokenizer: loaded.tokenizer };
}

/** A policy folder of an RL run: a causal LM, or a LLaVA image + text model with its image processor; and the tokenizer. */
export function loadPolicy(dir: string, role: string): { model: PolicyModel; tokenizer: Tokenizer | undefined; imageProcessor?: ImageProcessorConfig } {
  if (!isLlavaFolder(dir)) return loadCausalLM(dir, role);
  const loaded = loadLlava(dir);
  return { model: loaded.model, tokenizer: loaded.tokenizer, ...(loaded.imageProcessor ? { imageProcessor: loaded.imageProcessor } : {}) };
}

/** The reward or cost model of an HF folder; a causal LM, a LLaVA folder or the other score type is a clear error. */
export function loadScoreModel(dir: string, role: 'reward' | 'cost'): ScoreModel {
  const m = loadRlScoreModel(dir, role);
  if (m instanceof LlavaScoreModel) throw new ConfigError(`--${role} ${dir}: an image + text (LLaVA) ${role} model; this command reads text models only`);
  return m;
}

/** The reward or cost model of an RL run's folder (text, or LLaVA image + text); a causal LM or the other score type is a clear error. */
export function loadRlScoreModel(dir: string, role: 'reward' | 'cost'): ScoreModel | LlavaScoreModel {
  const m = isLlavaFolder(dir) ? loadLlavaScoreModel(dir).model : loadPretrained(dir).model;
  if (!(m instanceof ScoreModel || m instanceof LlavaScoreModel)) throw new ConfigError(`--${role} ${dir}: expected a score model folder (from \`safealign train ${role}\`), found a causal LM`);
  const type = m instanceof LlavaScoreModel ? m.languageModel.scoreType : m.scoreType;
  if (type !== role) throw new ConfigError(`--${role} ${dir}: expected a ${role} model, found a ${type} model`);
  return m;
}

/** A critic started from a stream's score model (its head and backbone; an image + text one keeps its tower and projector). */
function criticFrom(model: ScoreModel | LlavaScoreModel): CriticModel {
  return model instanceof LlavaScoreModel ? LlavaScoreModel.fromScoreModel(model, 'critic') : ScoreModel.fromScoreModel(model, 'critic');
}

/**
 * The reward or cost scorer of one folder, or of several as an ensemble whose members' scores `spec` reduces
 * (pessimistic downwards for a reward, upwards for a cost); `first` is the first member, which initialises the stream's critic.
 */
export function loadScorer(dirs: readonly string[], role: 'reward' | 'cost', spec: EnsembleReduce): { scorer: RlScorer; first: ScoreModel | LlavaScoreModel } {
  const members = dirs.map((d) => loadRlScoreModel(d, role));
  const first = members[0];
  if (!first) throw new ConfigError(`--${role}: no model folder given`);
  if (members.length === 1) return { scorer: first, first };
  const text = members.filter((m): m is ScoreModel => m instanceof ScoreModel);
  if (text.length < members.length) throw new ConfigError(`--${role}: ensembles of image + text (LLaVA) ${role} models are not supported yet; give one --${role} folder`);
  return { scorer: new ScoreEnsemble(text).asScorer(spec, WORSE[role]), first };
}

/** The PTX examples of a run: read from `config.ptx` when the PTX loss is on, else none. */
export async function readPtxFor(config: { ptx?: string | undefined; rl: { ptxCoef: number } }, progress: Progress): Promise<{ prompt: string; response: string; source: string }[]> {
  return config.ptx && config.rl.ptxCoef > 0 ? readPtx(config.ptx, progress) : [];
}

/** PTX examples ({prompt, response} JSONL or PKU-SafeRLHF's safe responses); unreadable lines are logged and skipped. */
async function readPtx(path: string, progress: Progress): Promise<{ prompt: string; response: string; source: string }[]> {
  const data = await readSftData(path);
  for (const p of data.problems.slice(0, 10)) progress.log(`warning: ${formatProblem(p)}`);
  if (data.examples.length === 0) throw new ConfigError(`--ptx ${path}: no SFT example could be read (${data.stats.unreadable} unreadable lines, ${data.noSafeResponse.count} records without a safe response)`);
  return data.examples;
}

/** What an RL run on folders reads: the actor and its tokenizer, the frozen reference, the reward scorer and (for `needsCost`, a method's name) the cost scorer. */
export function loadRlFolders(
  config: Pick<RlFoldersConfig, 'actor' | 'reference' | 'reward' | 'cost' | 'rewardEnsemble' | 'costEnsemble' | 'ptx'> & { rl: { ptxCoef: number } },
  needsCost: string | null,
): {
  actor: PolicyModel;
  tokenizer: Tokenizer;
  reference: PolicyModel;
  reward: ReturnType<typeof loadScorer>;
  cost: ReturnType<typeof loadScorer> | undefined;
  imageProcessor?: ImageProcessorConfig;
} {
  if (config.rl.ptxCoef > 0 && !config.ptx) throw new ConfigError('--rl-ptx-coef > 0: the PTX loss needs SFT data; pass --ptx FILE ({"prompt", "response"} JSONL or PKU-SafeRLHF)');
  const { model: actor, tokenizer, imageProcessor } = loadPolicy(config.actor, 'actor');
  if (!tokenizer) throw new ConfigError(`--actor ${config.actor}: no tokenizer.json; RL needs the actor's tokenizer beside it`);
  const reference = loadPolicy(config.reference ?? config.actor, config.reference ? 'reference' : 'actor').model;
  const reward = loadScorer(config.reward, 'reward', config.rewardEnsemble);
  if (needsCost !== null && !config.cost) throw new ConfigError(`${needsCost} needs a cost model: pass --cost DIR`);
  const cost = needsCost !== null && config.cost ? loadScorer(config.cost, 'cost', config.costEnsemble) : undefined;
  return { actor, tokenizer, reference, reward, cost, ...(imageProcessor ? { imageProcessor } : {}) };
}

/** Loaded folders of a command that reads text models only (HC-RLHF): the same, with image + text (LLaVA) folders refused. */
export function textOnly(f: ReturnType<typeof loadRlFolders>): {
  actor: CausalLM;
  tokenizer: Tokenizer;
  reference: CausalLM;
  reward: { scorer: SequenceScorer; first: ScoreModel };
  cost: { scorer: SequenceScorer; first: ScoreModel } | undefined;
} {
  const { actor, reference, reward, cost } = f;
  const llava = [actor, reference, reward.first, cost?.first].some((m) => m instanceof LlavaScoreModel || readsImages(m));
  if (llava || !(actor instanceof CausalLM) || !(reference instanceof CausalLM)) throw new ConfigError('this command reads text models only; image + text (LLaVA) folders train with `safealign train ppo-lag|ppo|...`');
  return { actor, reference, tokenizer: f.tokenizer, reward: reward as { scorer: SequenceScorer; first: ScoreModel }, cost: cost as { scorer: SequenceScorer; first: ScoreModel } | undefined };
}

/**
 * The prompts with their images as pixel values for the actor (its preprocessor_config.json): image paths are read relative
 * to the prompt file's folder; an image that does not open is an error naming its file:line. Prompts without images as given.
 */
async function withPromptImages(path: string, file: PromptFile, prompts: RlPrompt[], actor: PolicyModel, processor: ImageProcessorConfig | undefined): Promise<RlPrompt[]> {
  const withImage = file.prompts.flatMap((p, i) => (p.image ? [i] : []));
  if (withImage.length === 0) return prompts;
  if (!readsImages(actor)) throw new ConfigError(`${path}: ${withImage.length} prompts have images, but --actor is a text model: give LLaVA folders (model_type "llava") as actor, reward and cost models`);
  if (!processor) throw new ConfigError('--actor: the LLaVA folder has no preprocessor_config.json, which says how images become pixel values; add one (e.g. the CLIP processor the tower was trained with)');
  const inputs = withImage.map((i) => {
    const image = file.prompts[i]?.image as ImageSource;
    if ('base64' in image) return Buffer.from(image.base64, 'base64');
    return isAbsolute(image.path) ? image.path : resolve(dirname(path), image.path);
  });
  const pixels = await preprocessImages(inputs, processor, withImage.map((i) => file.prompts[i]?.source ?? path));
  const out = [...prompts];
  withImage.forEach((i, k) => (out[i] = { ...(prompts[i] as RlPrompt), image: pixels.select(0, k) }));
  return out;
}

/**
 * Runs `method` on the folders and prompts of `config`, resuming from `<out>/checkpoint` when one
 * exists. Writes the actor as an HF folder in `<out>`, `<out>/log.jsonl` (one record per RL step),
 * `<out>/result.json` and `<out>/report.html`.
 */
export async function trainRlOnFolders(methodName: RlFolderMethod, config: RlFoldersConfig, progress: Progress = silentProgress): Promise<RlFoldersResult> {
  useDevice(config.device); // the models this loads go there
  const { constrained, make } = METHODS[methodName];
  const probe = make(config, 0);
  const { actor, tokenizer, reference, reward, cost, imageProcessor } = loadRlFolders(config, probe.usesCost ? methodName : null);
  const rewardModel = reward.scorer;
  const costModel = cost?.scorer;

  if (config.thresholdFrom && cost?.first instanceof LlavaScoreModel) throw new ConfigError('--threshold-from calibrates d on text data, but --cost is an image + text (LLaVA) model: set --threshold');
  const threshold = constrained ? await resolveThreshold(config, costModel as SequenceScorer, tokenizer, progress) : undefined;
  const method = make(config, threshold?.value ?? 0);
  const critics: Partial<Record<StreamName, CriticModel>> = {};
  for (const s of criticStreams(method)) critics[s] = criticFrom(s === 'reward' ? reward.first : (cost as { first: ScoreModel | LlavaScoreModel }).first);

  const read = readRlPrompts(config.prompts, progress);
  const { file } = read;
  const prompts = await withPromptImages(config.prompts, file, read.prompts, actor, imageProcessor);

  const ptxData = await readPtxFor(config, progress);
  const out = trainRl({
    method,
    models: { actor, reference, rewardModel, ...(costModel ? { costModel } : {}), critics },
    tokenizer,
    prompts,
    ptxData,
    config: config.rl,
    outDir: config.out,
    progress,
    prompt: { raw: config.raw },
  });
  const settings = { method: methodName, ...config, ...(threshold ? { threshold: threshold.value } : {}) };
  const result: RlFoldersResult = {
    method: methodName,
    steps: out.steps,
    ...(threshold ? { threshold } : {}),
    prompts: { file: config.prompts, format: file.format, read: file.prompts.length, unreadable: file.problems.length },
    truncation: out.truncation,
    last: out.log[out.log.length - 1],
    outDir: config.out,
  };
  if (!dataParallel().isMain) return result; // with several processes, rank 0 writes the folder
  if (readsImages(actor)) saveLlava(config.out, actor as LlavaModel, { tokenizer, ...(imageProcessor ? { imageProcessor } : {}) });
  else savePretrained(config.out, actor, { tokenizer, trainingConfig: settings });
  writeFileAtomic(join(config.out, 'log.jsonl'), out.log.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeJsonAtomic(join(config.out, 'result.json'), result);
  writeFileAtomic(join(config.out, 'report.html'), await rlRunReport({ method: methodName, log: out.log, ...(threshold ? { threshold: threshold.value } : {}), settings }));
  return result;
}

/** The prompts of an RL-style prompt file (PKU-SafeRLHF, HH-RLHF, BeaverTails-V, {"prompt"[, "image"]} JSONL or plain text); the first unreadable lines are logged by file:line. Images are read by the caller. */
export function readRlPrompts(path: string, progress: Progress): { file: PromptFile; prompts: RlPrompt[] } {
  const file = readPrompts(path);
  for (const p of file.problems.slice(0, 10)) progress.log(`warning: ${formatProblem(p)}`);
  if (file.problems.length > 10) progress.log(`warning: ${file.problems.length - 10} more unreadable lines in ${path}`);
  if (file.prompts.length === 0) throw new ConfigError(`${path}: no prompt could be read (${file.problems.length} unreadable lines)`);
  return { file, prompts: file.prompts.map((p) => ({ prompt: p.prompt, risky: false, source: p.source, ...(p.context ? { context: p.context } : {}) })) };
}

/** Labelled data to calibrate d on: PKU-SafeRLHF pairs, or `{prompt, response, is_safe}` JSONL. */
async function readCostValidation(path: string): Promise<{ data: ScoreData; problems: DataProblem[] }> {
  if ((await detectLabelFormat(path)) === 'labels') {
    const read = await loadSafetyLabels(path, { format: 'labels' });
    return { data: { labels: read.records }, problems: read.problems };
  }
  const read = await readPkuSafeRlhf(path);
  return { data: read.records, problems: read.problems };
}

/**
 * The cost threshold d of a constrained method on the user's folders: `threshold` as given, or, with
 * `thresholdFrom`, calibrated on that labelled file as the pipeline does (calibrateThreshold).
 */
export async function resolveThreshold(
  config: { threshold: number; thresholdFrom?: string | undefined; thresholdQuantile: number; raw?: boolean },
  costModel: SequenceScorer,
  tokenizer: Tokenizer,
  progress: Progress,
): Promise<{ value: number; from: 'flag' | string }> {
  if (!config.thresholdFrom) {
    progress.log(`cost threshold d = ${config.threshold} (--threshold)`);
    return { value: config.threshold, from: 'flag' };
  }
  const { data, problems } = await readCostValidation(config.thresholdFrom);
  for (const p of problems.slice(0, 10)) progress.log(`warning: ${formatProblem(p)}`);
  const ev = evaluateScoreModel('cost', costModel, tokenizer, data, { prompt: { raw: config.raw ?? false } });
  const value = calibrateThreshold(ev, config.thresholdQuantile, `Give --threshold-from a file with both safe and unsafe responses, or set --threshold.`);
  progress.log(`cost threshold d = ${value.toFixed(4)}, calibrated on ${config.thresholdFrom} (${ev.n} ${Array.isArray(data) ? 'pairs' : 'responses'}: safe mean ${ev.safeMean.toFixed(3)}, unsafe mean ${ev.unsafeMean.toFixed(3)}, quantile ${config.thresholdQuantile})`);
  return { value, from: config.thresholdFrom };
}
