// Test helper: a tiny LLaVA-style setup — a word-level tokenizer with the <image> token, a CLIP (d 8, 8-pixel images, 4 patches) + GPT-2 (d 16) config.
import { formatPrompt, parseLlavaConfig, trainWordLevel, type LlavaConfig, type Tokenizer } from '../../src/models/index.js';
import { DEFAULT_SPECIAL_TOKENS } from '../../src/models/tokenizer-train.js';

/** A word-level tokenizer (up to 96 tokens) over `prompts` rendered by the default chat template and `extra` texts, with `<image>` as a special token. */
export function tinyImageTokenizer(prompts: readonly string[], extra: readonly string[]): Tokenizer {
  const special = { ...DEFAULT_SPECIAL_TOKENS, extra: [...DEFAULT_SPECIAL_TOKENS.extra, '<image>'] };
  const bare = trainWordLevel([], { vocabSize: 16, special });
  return trainWordLevel([...prompts.map((q) => formatPrompt(bare, { prompt: q })), ...extra], { vocabSize: 96, special });
}

/** A LLaVA config over `tokenizer`: a 1-layer CLIP tower on 8 x 8 images (4 image tokens) and a 1-layer GPT-2 of context 64. */
export function tinyLlavaConfig(tokenizer: Tokenizer): LlavaConfig {
  return parseLlavaConfig({
    model_type: 'llava',
    image_token_index: tokenizer.tokenToId('<image>'),
    vision_feature_layer: -1,
    vision_config: { model_type: 'clip_vision_model', hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, image_size: 8, patch_size: 4 },
    text_config: { model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, n_positions: 64, vocab_size: tokenizer.vocabSize, tie_word_embeddings: true, eos_token_id: tokenizer.eosId ?? null },
  });
}
