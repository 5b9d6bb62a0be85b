// Scoring fixed texts for evaluation: the end score is read at the response's own end after truncation; prompts that cannot fit are skipped by file:line.
import { describe, expect, it } from 'vitest';
import { fitEvalPrompts, scoreTexts, type Policy } from '../../src/eval/model-responses.js';
import { createCausalLM, lastTokenIndex, parseModelConfig, trainWordLevel } from '../../src/models/index.js';
import type { Tensor } from '../../src/torch/index.js';

const tokenizer = trainWordLevel(['how do I bake bread the a cat', 'BEGINNING OF CONVERSATION : USER ASSISTANT'], { vocabSize: 100 });
/** A scorer whose end score is the id of the token it reads the score at. */
const lastToken = (contextLength: number) => ({ contextLength, eval: () => undefined, forward: (ids: Tensor, mask: Tensor) => ({ endScores: ids.gather(1, lastTokenIndex(mask).unsqueeze(1)).squeeze(1).float() }) });
const words = (n: number) => Array.from({ length: n }, () => 'the').join(' ');
const promptLength = tokenizer.encode(tokenizer.applyChatTemplate([{ role: 'user', content: 'how' }], { addGenerationPrompt: true }), { addSpecialTokens: false }).length;

describe('scoreTexts', () => {
  it('keeps the response end (EOS) when cutting, counts what it cut, and gives NaN for a prompt with no room', () => {
    const maxLength = promptLength + 4;
    const { scores, stats } = scoreTexts({ model: lastToken(64), tokenizer, maxLength }, [
      { prompt: 'how', response: words(2) },
      { prompt: 'how', response: words(20), source: 'f.jsonl:2' },
      { prompt: `how ${words(maxLength)}`, response: 'a', source: 'f.jsonl:3' },
    ]);
    expect(scores.slice(0, 2)).toEqual([tokenizer.eosId, tokenizer.eosId]);
    expect(scores[2]).toBeNaN();
    expect(stats).toEqual({ maxLength, total: 3, truncated: 1, skipped: 1, skippedAt: ['f.jsonl:3'] });
  });
});

describe('fitEvalPrompts', () => {
  it('keeps prompts with room for the new tokens in every policy and for a response in every scorer', () => {
    const model = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 8, n_layer: 1, n_head: 2, n_positions: promptLength + 10, vocab_size: tokenizer.vocabSize }));
    const policy: Policy = { name: 'p', model, tokenizer };
    const prompts = [
      { prompt: 'how', risky: false, source: 'f:1' },
      { prompt: 'how the the the', risky: false, source: 'f:2' },
      { prompt: 'how the', risky: false, source: 'f:3' },
    ];
    // policy: prompt + 8 new tokens <= promptLength + 10, so at most 2 extra words
    const byPolicy = fitEvalPrompts(prompts, [policy], [], 8);
    expect(byPolicy.kept.map((p) => p.source)).toEqual(['f:1', 'f:3']);
    expect(byPolicy.stats).toEqual({ maxLength: promptLength + 2, total: 3, truncated: 0, skipped: 1, skippedAt: ['f:2'] });
    // a scorer reading promptLength + 1 tokens leaves room for a response only after the shortest prompt
    const byScorer = fitEvalPrompts(prompts, [policy], [{ model: lastToken(64), tokenizer, maxLength: promptLength + 1 }], 8);
    expect(byScorer.kept.map((p) => p.source)).toEqual(['f:1']);
  });
});
