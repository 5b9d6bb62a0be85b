import { describe, expect, it } from 'vitest';
import { formatExample, formatPrompt, type ChatTemplateFn } from '../../src/data/template.js';

describe('prompt templates', () => {
  it('renders the safe-rlhf default for one turn and for several', () => {
    expect(formatPrompt([{ role: 'user', content: 'How do I bake bread?' }])).toBe(
      'BEGINNING OF CONVERSATION: USER: How do I bake bread? ASSISTANT:',
    );
    expect(
      formatPrompt([
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
        { role: 'user', content: 'bye?' },
      ]),
    ).toBe('BEGINNING OF CONVERSATION: USER: hi ASSISTANT: hello USER: bye? ASSISTANT:');
    const ex = formatExample([{ role: 'user', content: 'q' }], 'an answer');
    expect(ex.text).toBe('BEGINNING OF CONVERSATION: USER: q ASSISTANT: an answer');
    expect(ex.text.slice(ex.responseStart)).toBe('an answer');
  });

  it('uses a chat template function when given one', () => {
    const chatml: ChatTemplateFn = (messages, { addGenerationPrompt }) =>
      messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') +
      (addGenerationPrompt ? '<|im_start|>assistant\n' : '');
    const ex = formatExample([{ role: 'user', content: 'q' }], 'ans', { chatTemplate: chatml });
    expect(ex.prompt).toBe('<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n');
    expect(ex.text).toBe('<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\nans<|im_end|>\n');
    expect(ex.text.slice(ex.responseStart, ex.responseStart + 3)).toBe('ans');
  });
});
