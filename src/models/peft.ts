// LoRA adapters in peft's folder layout (adapter_config.json + adapter_model.safetensors), so Python's PeftModel.from_pretrained loads them, and back.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import { noGrad, type Tensor } from '../torch/index.js';
import { configIssueLines } from './hf-config.js';
import { loadPretrained, savePretrained } from './hf.js';
import { applyLora, isSavedModule, LoraError, mergeLora, projections, type LoraModel, type ResolvedLora } from './lora.js';
import { readSafetensors, writeSafetensors, type RawTensor } from './safetensors.js';
import { rawToTensor, tensorToRaw } from './state-dict.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** peft names every tensor of the wrapped model under this prefix (PeftModel.base_model.model). */
const KEY_PREFIX = 'base_model.model.';

/** adapter_config.json as peft writes it (LoraConfig field names); only what changes the weights is checked. */
const AdapterConfigSchema = z.looseObject({
  peft_type: z.literal('LORA'),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  lora_dropout: z.number().min(0).max(1).default(0),
  target_modules: z.union([z.array(z.string()).min(1), z.string()]),
  bias: z.literal('none').default('none'),
  use_rslora: z.literal(false).default(false),
  use_dora: z.literal(false).default(false),
  rank_pattern: z.record(z.string(), z.unknown()).default({}),
  alpha_pattern: z.record(z.string(), z.unknown()).default({}),
  modules_to_save: z.array(z.string()).nullable().optional(),
});

/**
 * Writes the adapters of `model` (and its modules to save, e.g. a score model's head) as peft
 * does: keys `base_model.model.<module path>.lora_A.weight` (r, in) / `.lora_B.weight` (out, r);
 * `fan_in_fan_out` is true for GPT-2's Conv1D, whose weight is stored (in, out).
 */
export function saveAdapter(dir: string, model: LoraModel, lora: ResolvedLora, opts: { baseModel?: string } = {}): void {
  const adapted = projections(model).filter(([, m]) => m.hasLora);
  if (adapted.length === 0) throw new LoraError('saveAdapter: the model carries no LoRA adapter');
  const tensors = new Map<string, RawTensor>();
  for (const [name, t] of model.namedParameters()) {
    if (/\.lora_[AB]\.weight$/.test(name) || isSavedModule(model, name)) tensors.set(KEY_PREFIX + name, tensorToRaw(t));
  }
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
  writeJsonAtomic(join(dir, ADAPTER_CONFIG), {
    peft_type: 'LORA',
    task_type: model.peftTask.taskType,
    base_model_name_or_path: opts.baseModel ?? null,
    r: lora.r,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    target_modules: [...lora.targetModules],
    fan_in_fan_out: adapted.every(([, m]) => m.layout === 'in-out'),
    bias: 'none',
    modules_to_save: model.peftTask.modulesToSave.length ? [...model.peftTask.modulesToSave] : null,
    init_lora_weights: true,
    inference_mode: true,
    use_rslora: false,
    use_dora: false,
    rank_pattern: {},
    alpha_pattern: {},
    layers_to_transform: null,
    layers_pattern: null,
    revision: null,
  });
}

/** Reads a peft LoRA folder's settings (a regex `target_modules` is resolved against the model's projection paths). */
export function readAdapterConfig(dir: string, model: LoraModel): ResolvedLora {
  const file = join(dir, ADAPTER_CONFIG);
  if (!existsSync(file)) throw new LoraError(`${dir}: no ${ADAPTER_CONFIG}; is this a peft LoRA adapter folder?`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LoraError(`${file}: ${(e as Error).message}`);
  }
  const parsed = AdapterConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new LoraError(`${file}: not a LoRA adapter safealign can load (plain LoRA: no DoRA, rsLoRA, bias training or per-layer ranks):\n${configIssueLines(parsed.error)}`);
  }
  const c = parsed.data;
  if (Object.keys(c.rank_pattern).length || Object.keys(c.alpha_pattern).length) {
    throw new LoraError(`${file}: rank_pattern / alpha_pattern (per-layer ranks) are not supported`);
  }
  const targets = c.target_modules;
  const targetModules = typeof targets === 'string' ? projections(model).map(([p]) => p).filter((p) => new RegExp(`^(?:${targets})$`).test(p)) : targets;
  return { r: c.r, alpha: c.lora_alpha, dropout: c.lora_dropout, targetModules };
}

/**
 * Adds the adapters of a peft folder to `model` (frozen base, as applyLora) and loads their weights.
 * Every adapter tensor must be in the file with the right shape, and nothing else.
 */
export function loadAdapter(dir: string, model: LoraModel): ResolvedLora {
  const lora = readAdapterConfig(dir, model);
  const file = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(file)) throw new LoraError(`${dir}: no ${ADAPTER_WEIGHTS} (adapter_model.bin is not read: convert it to safetensors)`);
  const stored = readSafetensors(file).tensors;
  applyLora(model, lora);
  const own = new Map([...model.namedParameters()].filter(([n]) => /\.lora_[AB]\.weight$/.test(n) || isSavedModule(model, n)));
  const missing = [...own.keys()].filter((n) => !stored.has(KEY_PREFIX + n));
  const unexpected = [...stored.keys()].filter((k) => !k.startsWith(KEY_PREFIX) || !own.has(k.slice(KEY_PREFIX.length)));
  if (missing.length || unexpected.length) {
    throw new LoraError(
      `${file} does not fit the model: ${[missing.length ? `missing ${missing.slice(0, 6).map((n) => KEY_PREFIX + n).join(', ')}` : '', unexpected.length ? `unexpected ${unexpected.slice(0, 6).join(', ')}` : ''].filter(Boolean).join('; ')}. Was it trained on this base model?`,
    );
  }
  noGrad(() => {
    for (const [name, p] of own) {
      const t: Tensor = rawToTensor(stored.get(KEY_PREFIX + name) as RawTensor, { name: KEY_PREFIX + name, file });
      if (t.shape.join() !== p.shape.join()) throw new LoraError(`${file}: '${KEY_PREFIX + name}' has shape [${t.shape}] but the model expects [${p.shape}] (r ${lora.r})`);
      p.copy_(t);
      t.dispose();
    }
  });
  return lora;
}

/**
 * Loads the model in `base`, adds the peft adapter in `adapter`, merges it and writes the merged
 * model (with the base's tokenizer) as an HF folder in `out`. Returns the adapter's settings and how many projections it changed.
 */
export function mergeAdapterFolder(args: { base: string; adapter: string; out: string }): { lora: ResolvedLora; merged: number } {
  const loaded = loadPretrained(args.base);
  const lora = loadAdapter(args.adapter, loaded.model);
  const merged = mergeLora(loaded.model);
  savePretrained(args.out, loaded.model, loaded.tokenizer ? { tokenizer: loaded.tokenizer } : {});
  return { lora, merged };
}
