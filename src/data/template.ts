// Prompt templating: the documented safe-rlhf default, or a tokenizer's chat template passed in as a function.
import type { ChatMessage } from './record.js';

/**
 * A plain-text conversation template. Turns are rendered in order after `begin`; `{content}`
 * is replaced by the turn's text; `generation` ends the prompt where the model starts answering.
 */
export interface TextTemplate {
  begin: string;
  system: string;
  user: string;
  assistant: string;
  generation: string;
  /** Put between the prompt and the response in a full training text. */
  responseSeparator: string;
}

/**
 * The default, as in PKU-Alignment/safe-rlhf: a single-turn prompt renders as
 * `BEGINNING OF CONVERSATION: USER: {prompt} ASSISTANT:`, and a full training text is the
 * prompt, one space, then the response. Earlier turns render as
 * `... USER: u1 ASSISTANT: a1 USER: u2 ASSISTANT:`; a system message goes right after `begin`.
 */
export const DEFAULT_TEMPLATE: TextTemplate = {
  begin: 'BEGINNING OF CONVERSATION: ',
  system: '{content} ',
  user: 'USER: {content} ',
  assistant: 'ASSISTANT: {content} ',
  generation: 'ASSISTANT:',
  responseSeparator: ' ',
};

/**
 * A tokenizer's chat template (e.g. `applyChatTemplate` from the models package, wrapped to
 * this shape): renders messages to text, ending with the assistant header when
 * `addGenerationPrompt` is true. Taken as a function so that data code does not depend on models.
 */
export type ChatTemplateFn = (messages: ChatMessage[], options: { addGenerationPrompt: boolean }) => string;

export interface PromptFormat {
  /** Use this chat template instead of the text template. */
  chatTemplate?: ChatTemplateFn;
  /** Text template used when there is no chat template (default `DEFAULT_TEMPLATE`). */
  template?: TextTemplate;
}

function fill(pattern: string, content: string): string {
  return pattern.split('{content}').join(content);
}

/** Renders the conversation up to where the assistant answers (`messages` ends with a user turn). */
export function formatPrompt(messages: ChatMessage[], format: PromptFormat = {}): string {
  if (format.chatTemplate) return format.chatTemplate(messages, { addGenerationPrompt: true });
  const t = format.template ?? DEFAULT_TEMPLATE;
  let out = t.begin;
  for (const m of messages) out += fill(t[m.role], m.content);
  return out + t.generation;
}

/**
 * Renders prompt and full text (prompt + response) for training. With a chat template the full
 * text is the template applied to the conversation plus the assistant turn; `responseStart` is
 * where the response begins in `text` (the prompt length when `text` starts with the prompt,
 * which is what loss masking needs; otherwise the start of the response's first occurrence
 * after the longest common prefix).
 */
export function formatExample(
  messages: ChatMessage[],
  response: string,
  format: PromptFormat = {},
): { prompt: string; text: string; responseStart: number } {
  const prompt = formatPrompt(messages, format);
  if (!format.chatTemplate) {
    const sep = (format.template ?? DEFAULT_TEMPLATE).responseSeparator;
    return { prompt, text: prompt + sep + response, responseStart: prompt.length + sep.length };
  }
  const text = format.chatTemplate([...messages, { role: 'assistant', content: response }], { addGenerationPrompt: false });
  if (text.startsWith(prompt)) return { prompt, text, responseStart: prompt.length };
  let common = 0;
  while (common < prompt.length && prompt[common] === text[common]) common++;
  const at = text.indexOf(response, common);
  return { prompt, text, responseStart: at >= 0 ? at : common };
}
