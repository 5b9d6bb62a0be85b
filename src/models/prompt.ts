// The one way a prompt becomes model text: the model folder's chat template, safe-rlhf's template as the fallback, or the text unchanged (--raw).
import { z } from 'zod';
import type { Tensor } from '../torch/index.js';
import type { ChatMessage, Tokenizer } from './tokenizer.js';

/** What a model is asked: the final user message, after earlier turns of the conversation (oldest first). */
export interface PromptInput {
  prompt: string;
  context?: readonly ChatMessage[];
  /** The image the prompt is about, as pixel values (1, C, H, W) for an image + text model's vision tower. */
  pixels?: Tensor;
}

/** How an image + text model reads an image prompt: `placeholder` (token `id`) before the prompt, repeated `perImage` times. */
export interface ImageTokens {
  placeholder: string;
  id: number;
  perImage: number;
}

export interface PromptOptions {
  /**
   * Use the text unchanged instead of a chat template: the prompt alone, or, with earlier turns, their
   * texts and the prompt one per line. For base models trained on plain text.
   */
  raw?: boolean;
  /** An image + text model's image tokens (set by the trainers from the model): a prompt with pixels gets them. */
  image?: ImageTokens;
}

/**
 * The text a model sees before it answers. Without `raw`, the conversation (context, then the
 * prompt as a user turn) is rendered by the tokenizer's chat template with the generation prompt:
 * `chat_template` of the model folder's tokenizer_config.json when it has one, else safe-rlhf's
 * `BEGINNING OF CONVERSATION: USER: {prompt} ASSISTANT:` (`DEFAULT_CHAT_TEMPLATE`).
 */
export function formatPrompt(tokenizer: Tokenizer, input: PromptInput, options: PromptOptions = {}): string {
  const context = input.context ?? [];
  // LLaVA's convention: the image placeholder on a line of its own before the question
  const prompt = input.pixels && options.image ? `${options.image.placeholder}\n${input.prompt}` : input.prompt;
  if (options.raw) return [...context.map((m) => m.content), prompt].join('\n');
  return tokenizer.applyChatTemplate([...context, { role: 'user', content: prompt }], { addGenerationPrompt: true });
}

/** The `raw` setting (`--raw`) of every command that turns prompts into model text. */
export const RawPromptsSchema = z
  .boolean()
  .default(false)
  .describe('use prompts as they are, without the chat template (chat_template of tokenizer_config.json, else safe-rlhf\'s "BEGINNING OF CONVERSATION: USER: {prompt} ASSISTANT:"); for base models trained on plain text');
