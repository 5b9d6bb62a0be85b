// LoRA in a trainer: adapters on before the optimiser and the resume, then the adapter saved in peft layout and merged into the weights at the end.
import { join } from 'node:path';
import { dataParallel } from '../../distributed/data-parallel.js';
import { applyLora, mergeLora, saveAdapter, type LoraModel, type ResolvedLora } from '../../models/index.js';
import { manualSeed } from '../../torch/index.js';
import type { LoraConfig } from './lora-config.js';

/** Where a trainer writes its adapter, inside its output folder. */
export const ADAPTER_DIR = 'adapter';

export interface TrainerLora {
  settings: ResolvedLora;
  /** Saves the adapter to `<outDir>/adapter` (peft layout; rank 0 of a data-parallel job) and merges it into the model's weights. */
  finish(outDir: string): void;
  /** Merges the adapter into the model's weights without saving it. */
  merge(): void;
}

/**
 * With `config`, freezes `model`'s base weights and adds adapters (drawn from `seed`, so a resumed
 * run builds the same ones before loading its checkpoint); without, returns null and the model trains in full.
 */
export function startLora(model: LoraModel, config: LoraConfig | undefined, seed: number): TrainerLora | null {
  if (!config) return null;
  manualSeed(seed);
  const settings = applyLora(model, config);
  return {
    settings,
    finish(outDir: string) {
      if (dataParallel().isMain) saveAdapter(join(outDir, ADAPTER_DIR), model, settings);
      mergeLora(model);
    },
    merge() {
      mergeLora(model);
    },
  };
}
