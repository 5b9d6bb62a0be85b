// Hugging Face vision configs (HF field names and defaults): CLIP and SigLIP vision towers, and LLaVA's image + text config.
import { z } from 'zod';
import { configIssueLines, ModelConfigError, parseModelConfig, type ModelConfig } from './hf-config.js';

const act = z.enum(['quick_gelu', 'gelu', 'gelu_pytorch_tanh', 'gelu_new', 'relu']);

/** Fields both towers share; defaults are transformers' CLIPVisionConfig ones unless a tower overrides them. */
const towerFields = {
  hidden_size: z.number().int().positive().default(768).describe('width of the patch tokens'),
  intermediate_size: z.number().int().positive().default(3072).describe('MLP width'),
  num_hidden_layers: z.number().int().positive().default(12).describe('encoder layers'),
  num_attention_heads: z.number().int().positive().default(12).describe('attention heads'),
  num_channels: z.number().int().positive().default(3).describe('image channels (RGB)'),
  image_size: z.number().int().positive().default(224).describe('side of the square input image in pixels'),
  architectures: z.array(z.string()).optional(),
  torch_dtype: z.string().optional(),
};

const divisible = (c: { hidden_size: number; num_attention_heads: number; image_size: number; patch_size: number }) =>
  c.hidden_size % c.num_attention_heads === 0 && c.image_size % c.patch_size === 0;
const divisibleMessage = { message: 'hidden_size must be divisible by num_attention_heads and image_size by patch_size' };

/** CLIPVisionModel: a class token, position embeddings over patches + 1, pre-LayerNorm, pooled = post_layernorm(class token). */
export const ClipVisionConfigSchema = z
  .looseObject({
    model_type: z.literal('clip_vision_model'),
    ...towerFields,
    patch_size: z.number().int().positive().default(32).describe('side of a square patch in pixels'),
    hidden_act: act.default('quick_gelu'),
    layer_norm_eps: z.number().positive().default(1e-5),
  })
  .refine(divisible, divisibleMessage);

/** SiglipVisionModel: no class token, biased patch embedding, post_layernorm over every token; the pooling head is not run. */
export const SiglipVisionConfigSchema = z
  .looseObject({
    model_type: z.literal('siglip_vision_model'),
    ...towerFields,
    patch_size: z.number().int().positive().default(16).describe('side of a square patch in pixels'),
    hidden_act: act.default('gelu_pytorch_tanh'),
    layer_norm_eps: z.number().positive().default(1e-6),
    vision_use_head: z.boolean().default(true).describe("attention-pooling head (its weights are accepted but not run: LLaVA reads the patch tokens)"),
  })
  .refine(divisible, divisibleMessage);

export type ClipVisionConfig = z.output<typeof ClipVisionConfigSchema>;
export type SiglipVisionConfig = z.output<typeof SiglipVisionConfigSchema>;
export type VisionConfig = ClipVisionConfig | SiglipVisionConfig;

const TOWERS = { clip_vision_model: ClipVisionConfigSchema, siglip_vision_model: SiglipVisionConfigSchema } as const;
const TOWER_ARCHITECTURES: Record<string, keyof typeof TOWERS> = { CLIPVisionModel: 'clip_vision_model', SiglipVisionModel: 'siglip_vision_model' };
/** A full CLIP / SigLIP config.json nests the tower's fields under vision_config. */
const NESTING_TYPES: Record<string, keyof typeof TOWERS> = { clip: 'clip_vision_model', siglip: 'siglip_vision_model' };

/** Validates a vision tower config (a CLIPVisionModel / SiglipVisionModel config.json, or LLaVA's vision_config). */
export function parseVisionConfig(json: unknown, file = 'config.json'): VisionConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelConfigError(`${file}: expected a JSON object`);
  let obj = json as Record<string, unknown>;
  const nesting = typeof obj.model_type === 'string' ? NESTING_TYPES[obj.model_type] : undefined;
  if (nesting && typeof obj.vision_config === 'object' && obj.vision_config !== null) obj = { ...(obj.vision_config as object), model_type: nesting };
  let type = typeof obj.model_type === 'string' ? obj.model_type : undefined;
  if (!type && Array.isArray(obj.architectures)) type = obj.architectures.map((a) => TOWER_ARCHITECTURES[String(a)]).find((t) => t !== undefined);
  if (!type || !(type in TOWERS)) {
    throw new ModelConfigError(
      `${file}: unsupported vision tower (model_type ${JSON.stringify(obj.model_type)}); supported: ${Object.keys(TOWERS).join(', ')}`,
    );
  }
  const result = TOWERS[type as keyof typeof TOWERS].safeParse({ ...obj, model_type: type });
  if (!result.success) throw new ModelConfigError(`${file}: invalid ${type} config:\n${configIssueLines(result.error)}`);
  return result.data;
}

/** LLaVA (LlavaForConditionalGeneration): a vision tower, a 2-layer projector and a causal LM, spliced at the image token. */
const LlavaFieldsSchema = z.looseObject({
  model_type: z.literal('llava'),
  image_token_index: z.number().int().nonnegative().default(32000).describe('token id the processor repeats once per image feature row'),
  projector_hidden_act: act.default('gelu').describe("activation between the projector's linear_1 and linear_2"),
  vision_feature_layer: z.number().int().default(-2).describe('hidden state of the tower fed to the projector (HF index: 0 = embeddings, -1 = last layer)'),
  vision_feature_select_strategy: z.enum(['default', 'full']).default('default').describe("'default' drops the class token, 'full' keeps every token"),
  multimodal_projector_bias: z.boolean().default(true),
  tie_word_embeddings: z.boolean().optional(),
  architectures: z.array(z.string()).optional(),
});

export type LlavaConfig = z.output<typeof LlavaFieldsSchema> & { vision_config: VisionConfig; text_config: ModelConfig };

/** Validates a LLaVA config.json: its own fields, vision_config (default CLIP type) and text_config (a supported LM family). */
export function parseLlavaConfig(json: unknown, file = 'config.json'): LlavaConfig {
  const result = LlavaFieldsSchema.safeParse(json);
  if (!result.success) throw new ModelConfigError(`${file}: invalid llava config:\n${configIssueLines(result.error)}`);
  const obj = json as Record<string, unknown>;
  const visionRaw = { model_type: 'clip_vision_model', ...(obj.vision_config as object | undefined) };
  const textRaw = { ...(obj.text_config as object | undefined) } as Record<string, unknown>;
  if (obj.tie_word_embeddings !== undefined && textRaw.tie_word_embeddings === undefined) textRaw.tie_word_embeddings = obj.tie_word_embeddings;
  const vision = parseVisionConfig(visionRaw, `${file} (vision_config)`);
  const text = parseModelConfig(textRaw, `${file} (text_config)`);
  const layers = vision.num_hidden_layers;
  if (result.data.vision_feature_layer < -(layers + 1) || result.data.vision_feature_layer > layers) {
    throw new ModelConfigError(`${file}: vision_feature_layer ${result.data.vision_feature_layer} is outside the tower's hidden states (-${layers + 1}..${layers})`);
  }
  return { ...result.data, vision_config: vision, text_config: text };
}
