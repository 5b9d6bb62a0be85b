// Hugging Face model folders: config.json + model.safetensors (+ shards) + tokenizer files, both ways.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { CausalLM } from './causal-lm.js';
import { GenerationConfigSchema, ModelConfigError, parseModelConfig, type GenerationConfig, type ModelConfig } from './hf-config.js';
import { ScoreModel, type ScoreStats, type ScoreType } from './score-model.js';
import { loadStateDict, saveStateDict } from './state-dict.js';
import { Tokenizer } from './tokenizer.js';

/** Where safealign keeps score-model facts inside config.json (HF ignores unknown keys). */
export interface ScoreExtras {
  safealign_score_type?: ScoreType;
  safealign_score_stats?: ScoreStats;
  /** Levels of an ordinal (severity) head, e.g. 4 for PKU-SafeRLHF's severity_level 0-3; absent for a plain score. */
  safealign_ordinal_levels?: number;
}

export interface LoadedModel {
  model: CausalLM | ScoreModel;
  config: ModelConfig;
  tokenizer?: Tokenizer;
  generationConfig?: GenerationConfig;
}

/** Parses a JSON file of a model folder; a missing or broken file is a ModelConfigError naming it. */
export function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ModelConfigError(`${path}: ${(e as Error).message}`);
  }
}

/** Loads a causal LM, or a score model when config.json says `safealign_score_type`. */
export function loadPretrained(dir: string): LoadedModel {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new ModelConfigError(`${dir}: no config.json; is this a Hugging Face model folder?`);
  const raw = readJson(configPath) as Record<string, unknown> & ScoreExtras;
  const config = parseModelConfig(raw, configPath);
  const weights = loadStateDict(dir);
  let model: CausalLM | ScoreModel;
  if (raw.safealign_score_type) {
    const sm = new ScoreModel(config, raw.safealign_score_type, raw.safealign_ordinal_levels ?? 0);
    sm.loadStateDict(weights, { source: dir });
    if (raw.safealign_score_stats) sm.stats = raw.safealign_score_stats;
    model = sm;
  } else {
    const lm = new CausalLM(config);
    lm.loadStateDict(weights, { source: dir, ignore: lm.ignorableKeys });
    model = lm;
  }
  for (const t of weights.values()) t.dispose();
  const out: LoadedModel = { model, config };
  if (existsSync(join(dir, 'tokenizer.json'))) out.tokenizer = Tokenizer.fromDir(dir);
  const generationConfig = readGenerationConfig(dir);
  if (generationConfig) out.generationConfig = generationConfig;
  return out;
}

/** `dir`/generation_config.json, or undefined when the folder has none. */
export function readGenerationConfig(dir: string): GenerationConfig | undefined {
  const path = join(dir, 'generation_config.json');
  return existsSync(path) ? GenerationConfigSchema.parse(readJson(path)) : undefined;
}

/** The config.json keys that make a folder a score model: its type, running statistics and ordinal levels. */
export function scoreExtras(model: ScoreModel): ScoreExtras {
  const extras: ScoreExtras = { safealign_score_type: model.scoreType, safealign_score_stats: model.stats };
  if (model.ordinalLevels > 0) extras.safealign_ordinal_levels = model.ordinalLevels;
  return extras;
}

/** Writes config.json, model.safetensors, generation_config.json, tokenizer files and safealign_config.json. */
export function savePretrained(
  dir: string,
  model: CausalLM | ScoreModel,
  opts: { tokenizer?: Tokenizer; trainingConfig?: unknown; maxShardBytes?: number } = {},
): void {
  mkdirSync(dir, { recursive: true });
  const isScore = model instanceof ScoreModel;
  const config: Record<string, unknown> = { ...model.config };
  if (isScore) {
    Object.assign(config, scoreExtras(model));
  } else {
    config.tie_word_embeddings = (model as CausalLM).tied;
  }
  writeJsonAtomic(join(dir, 'config.json'), config);
  saveStateDict(dir, model.stateDict(), opts.maxShardBytes ? { maxShardBytes: opts.maxShardBytes } : {});
  if (opts.tokenizer) {
    opts.tokenizer.save(dir);
    const gen: GenerationConfig = {};
    if (opts.tokenizer.eosId !== undefined) gen.eos_token_id = opts.tokenizer.eosId;
    if (opts.tokenizer.padId !== undefined) gen.pad_token_id = opts.tokenizer.padId;
    writeJsonAtomic(join(dir, 'generation_config.json'), gen);
  }
  if (opts.trainingConfig !== undefined) writeJsonAtomic(join(dir, 'safealign_config.json'), opts.trainingConfig);
}
