// Hugging Face vision folders: CLIP / SigLIP vision towers and LLaVA image + text models (config.json, safetensors, tokenizer), both ways.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import type { Tensor } from '../torch/index.js';
import { FAMILIES } from './causal-lm.js';
import { readJson, scoreExtras, type ScoreExtras } from './hf.js';
import { ModelConfigError } from './hf-config.js';
import { readImageProcessor, type ImageProcessorConfig } from './image-processor.js';
import { LlavaModel, LlavaScoreModel } from './llava.js';
import type { Module } from './module.js';
import { loadStateDict, saveStateDict } from './state-dict.js';
import { Tokenizer } from './tokenizer.js';
import { parseLlavaConfig, parseVisionConfig, type LlavaConfig } from './vision-config.js';
import { isUnusedTowerWeight, VisionTower } from './vision.js';

interface WeightOptions {
  /** Names the model need not have (weights it does not run). */
  skip: (name: string) => boolean;
  /** Given every stored name, how to map each to the model's name (a checkpoint layout the model's names differ from). */
  rename?: (stored: string[]) => (name: string) => string;
}

/** Loads `dir`'s weights into `model`. */
function loadFolderWeights(model: Module, dir: string, opts: WeightOptions): void {
  const stored = loadStateDict(dir);
  const rename = opts.rename?.([...stored.keys()]) ?? ((name: string) => name);
  const weights = new Map<string, Tensor>();
  for (const [name, t] of stored) weights.set(rename(name), t);
  try {
    model.loadStateDict(weights, { source: dir, ignore: [...weights.keys()].filter(opts.skip) });
  } finally {
    for (const t of stored.values()) t.dispose();
  }
}

function configPathOf(dir: string): string {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ModelConfigError(`${dir}: no config.json; is this a Hugging Face model folder?`);
  return path;
}

/**
 * Loads a vision tower from an HF folder: a CLIPVisionModel / SiglipVisionModel, or a full CLIP / SigLIP model whose
 * `vision_model.*` weights are taken (its text half and projections are skipped, as is SigLIP's pooling head).
 */
export function loadVisionTower(dir: string): VisionTower {
  const configPath = configPathOf(dir);
  const tower = new VisionTower(parseVisionConfig(readJson(configPath), configPath));
  loadFolderWeights(tower, dir, { skip: (name) => !name.startsWith('vision_model.') || isUnusedTowerWeight(name) });
  return tower;
}

/**
 * transformers >= 4.52 stores LLaVA as `model.vision_tower.*`, `model.multi_modal_projector.*`, `model.language_model.*`
 * (the bare LM) and `lm_head.*`; a checkpoint in that layout has its names mapped to the classic ones the model uses.
 */
function classicLlavaNames(lmPrefix: string): (stored: string[]) => (name: string) => string {
  const toClassic = (name: string): string => {
    if (name.startsWith('model.language_model.')) return `language_model.${lmPrefix}.${name.slice('model.language_model.'.length)}`;
    if (name.startsWith('model.')) return name.slice('model.'.length);
    if (name.startsWith('lm_head.')) return `language_model.${name}`;
    return name;
  };
  return (stored) => (stored.some((n) => n.startsWith('model.vision_tower.')) ? toClassic : (name) => name);
}

export interface LoadedLlava<M extends LlavaModel | LlavaScoreModel = LlavaModel> {
  model: M;
  config: LlavaConfig;
  tokenizer?: Tokenizer;
  /** preprocessor_config.json: how images become pixel values for this model. */
  imageProcessor?: ImageProcessorConfig;
}

/** Reads a LLaVA folder's config, builds the model `make` gives for it, loads the weights (either HF layout), tokenizer and processor. */
function loadLlavaFolder<M extends LlavaModel | LlavaScoreModel>(dir: string, make: (config: LlavaConfig, raw: Record<string, unknown> & ScoreExtras) => M): LoadedLlava<M> {
  const configPath = configPathOf(dir);
  const raw = readJson(configPath) as Record<string, unknown> & ScoreExtras;
  const config = parseLlavaConfig(raw, configPath);
  const model = make(config, raw);
  const ignorable = new Set(model instanceof LlavaModel ? model.ignorableKeys : []);
  loadFolderWeights(model, dir, {
    skip: (name) => ignorable.has(name) || isUnusedTowerWeight(name),
    rename: classicLlavaNames(FAMILIES[config.text_config.model_type].prefix),
  });
  const out: LoadedLlava<M> = { model, config };
  if (existsSync(join(dir, 'tokenizer.json'))) out.tokenizer = Tokenizer.fromDir(dir);
  const imageProcessor = readImageProcessor(dir);
  if (imageProcessor) out.imageProcessor = imageProcessor;
  return out;
}

/** Loads a LLaVA folder (model_type "llava"): config.json with vision_config and text_config, safetensors in either HF layout, tokenizer. */
export function loadLlava(dir: string): LoadedLlava {
  return loadLlavaFolder(dir, (config, raw) => {
    if (raw.safealign_score_type) throw new ModelConfigError(`${dir} holds a ${raw.safealign_score_type} model, not a LLaVA LM: load it with loadLlavaScoreModel`);
    return new LlavaModel(config);
  });
}

/** Loads a multimodal reward / cost / critic folder that saveLlava wrote from a LlavaScoreModel (config.json carries safealign_score_type). */
export function loadLlavaScoreModel(dir: string): LoadedLlava<LlavaScoreModel> {
  return loadLlavaFolder(dir, (config, raw) => {
    if (!raw.safealign_score_type) throw new ModelConfigError(`${dir} holds a LLaVA LM, not a score model (no safealign_score_type in config.json): start one with LlavaScoreModel.fromLlava`);
    const model = new LlavaScoreModel(config, raw.safealign_score_type, raw.safealign_ordinal_levels ?? 0);
    if (raw.safealign_score_stats) model.languageModel.stats = raw.safealign_score_stats;
    return model;
  });
}

/**
 * Writes a LLaVA folder in the classic layout: config.json (vision_config, text_config; a score model's type, statistics and
 * ordinal levels), model.safetensors, tokenizer and preprocessor files.
 */
export function saveLlava(dir: string, model: LlavaModel | LlavaScoreModel, opts: { tokenizer?: Tokenizer; imageProcessor?: ImageProcessorConfig } = {}): void {
  mkdirSync(dir, { recursive: true });
  const config =
    model instanceof LlavaModel
      ? { ...model.config, architectures: ['LlavaForConditionalGeneration'], text_config: { ...model.config.text_config, tie_word_embeddings: model.languageModel.tied } }
      : { ...model.config, architectures: undefined, ...scoreExtras(model.languageModel) };
  writeJsonAtomic(join(dir, 'config.json'), config);
  saveStateDict(dir, model.stateDict());
  opts.tokenizer?.save(dir);
  if (opts.imageProcessor) writeJsonAtomic(join(dir, 'preprocessor_config.json'), opts.imageProcessor);
}
