// LoRA (Hu et al. 2021, as peft implements it): adapters on the named projections of a model with its base weights frozen; merging folds them back.
import { FAMILIES } from './causal-lm.js';
import type { ModelConfig } from './hf-config.js';
import { Linear, type LoraSettings } from './linear.js';
import type { Module } from './module.js';
import type { PeftTask } from './types.js';

export type { LoraSettings };

/** Adapter settings; target modules default to the family's (peft's defaults: c_attn for GPT-2, q_proj and v_proj for Llama). */
export interface LoraOptions extends LoraSettings {
  targetModules?: readonly string[] | undefined;
}

/** The settings an adapter was made with, target modules resolved. */
export interface ResolvedLora extends LoraSettings {
  targetModules: readonly string[];
}

/** A model LoRA can adapt: a causal LM or a score model. */
export interface LoraModel extends Module {
  readonly config: ModelConfig;
  readonly peftTask: PeftTask;
}

/** LoRA settings that do not fit the model (no projection matches, an adapter already there). */
export class LoraError extends Error {
  override name = 'LoraError';
}

/** peft's rule: a module is a target when its path equals a target name or ends with `.<name>`. */
function isTarget(path: string, targets: readonly string[]): boolean {
  return targets.some((t) => path === t || path.endsWith(`.${t}`));
}

/** The projections of `model` by path. */
export function projections(model: Module): [string, Linear][] {
  return [...model.namedModules()].filter((e): e is [string, Linear] => e[1] instanceof Linear);
}

/** Whether `name` is a parameter of a module trained in full beside the adapters (peft's modules_to_save). */
export function isSavedModule(model: LoraModel, name: string): boolean {
  return model.peftTask.modulesToSave.some((m) => name === m || name.startsWith(`${m}.`));
}

/**
 * Freezes every base weight of `model` and adds an adapter to each target projection; only the
 * adapters and the modules to save (a score model's head) stay trainable. Returns the settings used.
 */
export function applyLora(model: LoraModel, opts: LoraOptions): ResolvedLora {
  const targetModules = opts.targetModules?.length ? [...opts.targetModules] : [...FAMILIES[model.config.model_type].loraTargets];
  const all = projections(model);
  const hit = all.filter(([path]) => isTarget(path, targetModules));
  if (hit.length === 0) {
    const names = [...new Set(all.map(([p]) => p.split('.').pop() as string))];
    throw new LoraError(`LoRA: no projection matches targetModules [${targetModules.join(', ')}]; this ${model.config.model_type} model has: ${names.join(', ')}`);
  }
  if (hit.some(([, m]) => m.hasLora)) throw new LoraError('LoRA: the model already carries adapters; merge them (mergeLora) before adding new ones');
  if (!Number.isInteger(opts.r) || opts.r <= 0) throw new LoraError(`LoRA: rank r must be a positive integer, got ${opts.r}`);
  for (const p of model.parameters()) p.requiresGrad_(false);
  for (const [, m] of hit) m.attachLora(opts);
  for (const [name, p] of model.namedParameters()) if (isSavedModule(model, name)) p.requiresGrad_(true);
  return { r: opts.r, alpha: opts.alpha, dropout: opts.dropout, targetModules };
}

/** Folds every adapter into its projection's weight, removes the adapters and makes every parameter trainable again. Returns how many were merged. */
export function mergeLora(model: Module): number {
  const adapted = projections(model).filter(([, m]) => m.hasLora);
  for (const [, m] of adapted) m.mergeLora();
  for (const p of model.parameters()) p.requiresGrad_(true);
  return adapted.length;
}
