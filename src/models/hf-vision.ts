// Hugging Face vision folders: a CLIPVisionModel / SiglipVisionModel (or the vision half of a CLIP / SigLIP model) from config.json + safetensors.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from './hf.js';
import { ModelConfigError } from './hf-config.js';
import type { Module } from './module.js';
import { loadStateDict } from './state-dict.js';
import { parseVisionConfig } from './vision-config.js';
import { isUnusedTowerWeight, VisionTower } from './vision.js';

/** Loads `dir`'s weights into `model`; names `skip` accepts (weights the model does not run) may be present without a parameter. */
export function loadFolderWeights(model: Module, dir: string, skip: (name: string) => boolean): void {
  const weights = loadStateDict(dir);
  try {
    model.loadStateDict(weights, { source: dir, ignore: [...weights.keys()].filter(skip) });
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}

/**
 * Loads a vision tower from an HF folder: a CLIPVisionModel / SiglipVisionModel, or a full CLIP / SigLIP model whose
 * `vision_model.*` weights are taken (its text half and projections are skipped, as is SigLIP's pooling head).
 */
export function loadVisionTower(dir: string): VisionTower {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new ModelConfigError(`${dir}: no config.json; is this a Hugging Face model folder?`);
  const tower = new VisionTower(parseVisionConfig(readJson(configPath), configPath));
  loadFolderWeights(tower, dir, (name) => !name.startsWith('vision_model.') || isUnusedTowerWeight(name));
  return tower;
}
