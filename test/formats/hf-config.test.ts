import { describe, expect, it } from 'vitest';
import { GenerationConfigSchema, ModelConfigError, parseModelConfig } from '../../src/models/hf-config.js';

const gpt2 = { model_type: 'gpt2', n_embd: 64, n_layer: 2, n_head: 4, n_positions: 128, vocab_size: 100, extra_field: 1 };
const llama = {
  architectures: ['Qwen2ForCausalLM'],
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 256,
  vocab_size: 100,
  attention_bias: true,
};

describe('parseModelConfig', () => {
  it('reads GPT-2 configs, filling HF defaults and keeping unknown fields', () => {
    const c = parseModelConfig(gpt2);
    expect(c.model_type).toBe('gpt2');
    expect(c).toMatchObject({ layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', extra_field: 1 });
  });

  it('picks the Llama family from architectures when model_type is absent', () => {
    const c = parseModelConfig(llama);
    expect(c.model_type).toBe('qwen2');
    expect(c).toMatchObject({ rope_theta: 10000, rms_norm_eps: 1e-6, num_key_value_heads: 2 });
  });

  it('rejects unknown architectures naming the file and what is supported', () => {
    expect(() => parseModelConfig({ model_type: 'bert', vocab_size: 3 }, 'm/config.json')).toThrow(ModelConfigError);
    expect(() => parseModelConfig({ model_type: 'bert' }, 'm/config.json')).toThrow(
      /m\/config\.json: unsupported architecture .*supported model_type values: gpt2, llama, qwen2, mistral/,
    );
  });

  it('reports bad fields with their path', () => {
    expect(() => parseModelConfig({ ...gpt2, n_head: 5 }, 'c.json')).toThrow(/c\.json: invalid gpt2 config:\n {2}n_head: n_embd must be divisible by n_head/);
    expect(() => parseModelConfig({ ...llama, num_key_value_heads: 3 })).toThrow(/num_key_value_heads: num_attention_heads must be a multiple/);
    expect(() => parseModelConfig({ ...gpt2, n_layer: 'two' })).toThrow(/n_layer/);
    expect(() => parseModelConfig([1])).toThrow(/expected a JSON object/);
  });

  it('parses generation_config.json', () => {
    expect(GenerationConfigSchema.parse({ do_sample: true, top_p: 0.9, eos_token_id: [1, 2] }).top_p).toBe(0.9);
    expect(() => GenerationConfigSchema.parse({ top_p: 2 })).toThrow();
  });
});
