// The one way a prompt becomes model text: the model folder's chat template, safe-rlhf's template as the fallback, or the text unchanged (--raw).
import { z } from 'zod';
import type { ChatMessage, Tokenizer } from './tokenizer.js';

/** What a model is asked: the final user message, after earlier turns of the conversation (oldest first). */
export interface PromptInput {
  prompt: string;
  context?: readonly ChatMessage[];
}

export interface PromptOptions {
  /**
   * Use the text unchanged instead of a chat template: the prompt alone, or, with earlier turns, their
   * texts and the prompt one per line. For base models trained on plain text.
   */
  raw?: boolean;
}

/**
 * The text a model sees before it answers. Without `raw`, the conversation (context, then the
 * prompt as a user turn) is rendered by the tokenizer's chat template with the generation prompt:
 * `chat_template` of the model folder's tokenizer_config.json when it has one, else safe-rlhf's
 * `BEGINNING OF CONVERSATION: USER: {prompt} ASSISTANT:` (`DEFAULT_CHAT_TEMPLATE`).
 */
export function formatPrompt(tokenizer: Tokenizer, input: PromptInput, options: PromptOptions = {}): string {
  const context = input.context ?? [];
  if (options.raw) return [...context.map((m) => m.content), input.prompt].join('\n');
  return tokenizer.applyChatTemplate([...context, { role: 'user', content: input.prompt }], { addGenerationPrompt: true });
}

/** The `raw` setting (`--raw`) of every command that turns prompts into model text. */
export const RawPromptsSchema = z
  .boolean()
  .default(false)
  .describe('use prompts as they are, without the chat template (chat_template of tokenizer_config.json, else safe-rlhf\'s "BEGINNING OF CONVERSATION: USER: {prompt} ASSISTANT:"); for base models trained on plain text');
