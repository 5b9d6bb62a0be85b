// Hugging Face config.json and generation_config.json schemas (HF field names) for the model families we run.
import { z } from 'zod';

/** A config.json we cannot use: names the file, the field and what to do. */
export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}

/** Zod issues of a config file, one indented `field.path: message` line each. */
export function configIssueLines(error: z.ZodError): string {
  return error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n');
}

const common = {
  vocab_size: z.number().int().positive().describe('number of token embeddings'),
  tie_word_embeddings: z.boolean().optional().describe('share the input embedding and the LM head'),
  bos_token_id: z.number().int().nullable().optional(),
  eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullable().optional(),
  pad_token_id: z.number().int().nullable().optional(),
  architectures: z.array(z.string()).optional(),
  torch_dtype: z.string().optional(),
};

/** GPT-2 family: learned positions, LayerNorm, GELU MLP, Conv1D weight layout. */
export const Gpt2ConfigSchema = z
  .looseObject({
    model_type: z.literal('gpt2'),
    n_embd: z.number().int().positive().describe('hidden size'),
    n_layer: z.number().int().positive().describe('number of transformer blocks'),
    n_head: z.number().int().positive().describe('attention heads'),
    n_positions: z.number().int().positive().describe('maximum sequence length (learned positions)'),
    n_inner: z.number().int().positive().nullable().optional().describe('MLP width (default 4 * n_embd)'),
    layer_norm_epsilon: z.number().positive().default(1e-5),
    activation_function: z.enum(['gelu_new', 'gelu', 'gelu_pytorch_tanh', 'relu']).default('gelu_new'),
    ...common,
  })
  .refine((c) => c.n_embd % c.n_head === 0, { message: 'n_embd must be divisible by n_head', path: ['n_head'] });
export type Gpt2Config = z.output<typeof Gpt2ConfigSchema>;

/** Llama family (Llama, Qwen2, Mistral, SmolLM): RMSNorm, RoPE, SwiGLU, grouped-query attention. */
export const LlamaConfigSchema = z
  .looseObject({
    model_type: z.enum(['llama', 'qwen2', 'mistral']),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive().optional().describe('KV heads for GQA (default: num_attention_heads)'),
    head_dim: z.number().int().positive().optional(),
    rms_norm_eps: z.number().positive().default(1e-6),
    rope_theta: z.number().positive().default(10000),
    rope_scaling: z.null().optional().describe('only unscaled RoPE is supported'),
    max_position_embeddings: z.number().int().positive(),
    hidden_act: z.literal('silu').default('silu'),
    attention_bias: z.boolean().optional().describe('biases on q/k/v/o projections (Qwen2 has q/k/v biases)'),
    mlp_bias: z.boolean().optional(),
    ...common,
  })
  .refine((c) => c.num_attention_heads % (c.num_key_value_heads ?? c.num_attention_heads) === 0, {
    message: 'num_attention_heads must be a multiple of num_key_value_heads',
    path: ['num_key_value_heads'],
  });
export type LlamaConfig = z.output<typeof LlamaConfigSchema>;

export type ModelConfig = Gpt2Config | LlamaConfig;

const FAMILIES = {
  gpt2: Gpt2ConfigSchema,
  llama: LlamaConfigSchema,
  qwen2: LlamaConfigSchema,
  mistral: LlamaConfigSchema,
} as const satisfies Record<string, z.ZodType>;
const ARCHITECTURES: Record<string, keyof typeof FAMILIES> = {
  GPT2LMHeadModel: 'gpt2',
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  MistralForCausalLM: 'mistral',
};

/** Model types this build can run. */
export const SUPPORTED_MODEL_TYPES = Object.keys(FAMILIES);

/**
 * Validates a parsed config.json. The family comes from `model_type` (or, failing that,
 * `architectures`); an unknown one is an error listing what is supported.
 */
export function parseModelConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelConfigError(`${file}: expected a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  let type = typeof obj.model_type === 'string' ? obj.model_type : undefined;
  if (!type && Array.isArray(obj.architectures)) {
    type = obj.architectures.map((a) => ARCHITECTURES[String(a)]).find((t) => t !== undefined);
  }
  if (!type || !(type in FAMILIES)) {
    throw new ModelConfigError(
      `${file}: unsupported architecture (model_type ${JSON.stringify(obj.model_type)}, architectures ${JSON.stringify(obj.architectures)}); supported model_type values: ${SUPPORTED_MODEL_TYPES.join(', ')}`,
    );
  }
  const schema = FAMILIES[type as keyof typeof FAMILIES];
  const result = schema.safeParse({ ...obj, model_type: type });
  if (!result.success) {
    throw new ModelConfigError(`${file}: invalid ${type} config:\n${configIssueLines(result.error)}`);
  }
  return result.data as ModelConfig;
}

/** generation_config.json: the defaults a model ships for sampling. */
export const GenerationConfigSchema = z.looseObject({
  max_new_tokens: z.number().int().positive().optional(),
  do_sample: z.boolean().optional(),
  temperature: z.number().positive().optional(),
  top_k: z.number().int().nonnegative().optional(),
  top_p: z.number().positive().max(1).optional(),
  repetition_penalty: z.number().positive().optional(),
  bos_token_id: z.number().int().nullable().optional(),
  eos_token_id: z.union([z.number().int(), z.array(z.number().int())]).nullable().optional(),
  pad_token_id: z.number().int().nullable().optional(),
});
export type GenerationConfig = z.output<typeof GenerationConfigSchema>;
