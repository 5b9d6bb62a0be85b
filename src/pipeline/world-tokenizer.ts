// The pipeline's tokenizer: word level over the SFT corpus (prompts as the chat template renders them, responses) and the world's vocabulary.
import { formatPrompt } from '../models/prompt.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { DEFAULT_SPECIAL_TOKENS, trainWordLevel } from '../models/tokenizer-train.js';

/**
 * The word-level tokenizer the pipeline trains over everything the policy will read or write (at most 4,096 tokens);
 * `extraSpecial` tokens are kept whole after the default special tokens (the multimodal world's image placeholder).
 */
export function worldTokenizer(sftTrain: readonly { prompt: string; response: string }[], vocabulary: readonly string[], extraSpecial: readonly string[] = []): Tokenizer {
  const base = trainWordLevel([], { vocabSize: 16 });
  const corpus = [...sftTrain.flatMap((e) => [formatPrompt(base, e), e.response]), ...vocabulary];
  const special = extraSpecial.length > 0 ? { special: { ...DEFAULT_SPECIAL_TOKENS, extra: [...DEFAULT_SPECIAL_TOKENS.extra, ...extraSpecial] } } : {};
  return trainWordLevel(corpus, { vocabSize: 4096, ...special });
}
