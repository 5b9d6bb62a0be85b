// formatPrompt: a model folder's chat_template (rendered by the Jinja engine), safe-rlhf's template without one, and --raw.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePair } from '../../src/algorithms/common/batching.js';
import { createCausalLM, formatPrompt, loadPretrained, parseModelConfig, savePretrained, Tokenizer, trainWordLevel } from '../../src/models/index.js';

const base = trainWordLevel(['how do i bake bread ? knead it well hi hello BEGINNING OF CONVERSATION : USER ASSISTANT'], { vocabSize: 100 });
/** Qwen2's ChatML template (system default included), as shipped in its tokenizer_config.json. */
const CHATML =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A copy of `base` whose tokenizer_config.json has `extra` merged in. */
const withConfig = (extra: Record<string, unknown>) => new Tokenizer(base.tokenizerJson, { ...base.tokenizerConfig, ...extra });

describe('formatPrompt', () => {
  it("without chat_template: safe-rlhf's template, earlier turns each closed by EOS", () => {
    expect(formatPrompt(base, { prompt: 'how do i bake bread?' })).toBe('BEGINNING OF CONVERSATION: USER: how do i bake bread? ASSISTANT:');
    const context = [
      { role: 'user' as const, content: 'hi' },
      { role: 'assistant' as const, content: 'hello' },
    ];
    expect(formatPrompt(base, { prompt: 'bread?', context })).toBe('BEGINNING OF CONVERSATION: USER: hi ASSISTANT: hello<eos> USER: bread? ASSISTANT:');
  });

  it("with the folder's chat_template: rendered by Jinja, system default and generation prompt included", () => {
    const chatml = withConfig({ chat_template: CHATML, eos_token: '<eos>' });
    expect(formatPrompt(chatml, { prompt: 'how do i bake bread?' })).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhow do i bake bread?<|im_end|>\n<|im_start|>assistant\n',
    );
    const context = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'hi' },
      { role: 'assistant' as const, content: 'hello' },
    ];
    expect(formatPrompt(chatml, { prompt: 'bread?', context })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n<|im_start|>user\nbread?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('raw: the text unchanged (earlier turns one per line before it), whatever the template', () => {
    const chatml = withConfig({ chat_template: CHATML });
    expect(formatPrompt(chatml, { prompt: 'how do i bake bread?' }, { raw: true })).toBe('how do i bake bread?');
    expect(formatPrompt(base, { prompt: 'bread?', context: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }, { raw: true })).toBe('hi\nhello\nbread?');
  });

  it('a model folder saved with chat_template in tokenizer_config.json brings it back, and training pairs are encoded with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prompt-'));
    const model = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16, vocab_size: base.vocabSize }));
    savePretrained(dir, model, { tokenizer: base });
    const cfgPath = join(dir, 'tokenizer_config.json');
    writeFileSync(cfgPath, JSON.stringify({ ...(JSON.parse(readFileSync(cfgPath, 'utf8')) as object), chat_template: '{% for m in messages %}USER {{ m.content }} {% endfor %}ASSISTANT' }));
    const tok = loadPretrained(dir).tokenizer as Tokenizer;
    expect(formatPrompt(tok, { prompt: 'hi' })).toBe('USER hi ASSISTANT');
    const pair = encodePair(tok, { prompt: 'hi' }, 'hello');
    expect(pair.promptIds).toEqual(tok.encode('USER hi ASSISTANT', { addSpecialTokens: false }));
    expect(pair.responseIds).toEqual([...tok.encode('hello', { addSpecialTokens: false }), tok.eosId]);
    expect(encodePair(tok, { prompt: 'hi' }, 'hello', { raw: true }).promptIds).toEqual(tok.encode('hi', { addSpecialTokens: false }));
  });
});
