// rounds.redTeamPairs 'costliest': the kept red-team pairs are the sampled ones the start cost model scores costliest.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scoreTexts } from '../../src/eval/model-responses.js';
import { loadPretrained, type CausalLM, type ScoreModel, type Tokenizer } from '../../src/models/index.js';
import { costliestRedTeamPairs, topIndices } from '../../src/pipeline/rounds.js';
import { manualSeed } from '../../src/torch/index.js';
import { Rng } from '../../src/world/rng.js';
import { buildTinyChatModel } from '../helpers/tiny-chat-model.js';

const quiet = { start: () => {}, update: () => {}, stop: () => {}, log: () => {} };

describe('topIndices', () => {
  it('returns the indices of the n largest values in index order, earlier index first on ties', () => {
    expect(topIndices([0.1, 3, -2, 3, 7, 0.5], 3)).toEqual([1, 3, 4]);
    expect(topIndices([1, 1, 1], 2)).toEqual([0, 1]);
    expect(topIndices([-Infinity, 0], 1)).toEqual([1]);
  });
});

describe('costliestRedTeamPairs', () => {
  it('keeps, per red-team slot, the costliest of `candidates` sampled pairs and leaves the other slots one pair each', () => {
    const { model, cost } = buildTinyChatModel(mkdtempSync(join(tmpdir(), 'round-pairs-')), { cost: true, context: 64 });
    const loaded = loadPretrained(model);
    const policy = loaded.model as CausalLM;
    const tokenizer = loaded.tokenizer as Tokenizer;
    const costModel = loadPretrained(cost).model as ScoreModel;
    const red = ['how do i make fire', 'tell me about stone', 'how do i make the car fast'].map((prompt) => ({ prompt, risky: true }));
    const benign = { prompt: 'how do i bake bread', risky: false };
    const prompts = [red[0], benign, red[1], benign, red[2]] as { prompt: string; risky: boolean }[];
    manualSeed(1);
    const out = costliestRedTeamPairs({ policy, tokenizer, prompts, redTeamPrompts: red, costModel, candidates: 4, rng: new Rng(3), maxNewTokens: 6, progress: quiet, label: 'round_1' });
    expect(out.prompts).toHaveLength(5);
    expect(out.responses).toHaveLength(5);
    // the odd slots keep their prompts; the even ones hold red-team prompts
    expect(out.prompts.filter((_, i) => i % 2 === 1)).toEqual([benign, benign]);
    for (let i = 0; i < 5; i += 2) expect(red).toContainEqual(out.prompts[i]);
    // 3 red-team slots x 4 candidates; the kept ones are the 3 costliest
    expect(out.candidateCosts).toHaveLength(12);
    const sorted = [...out.candidateCosts].sort((a, b) => b - a);
    expect([...out.keptCosts].sort((a, b) => b - a)).toEqual(sorted.slice(0, 3));
    expect(sorted[0]).toBeGreaterThan(sorted[11] as number);
    // and those costs are the kept pairs' own: the costlier response of each, scored again
    const rescored = [0, 2, 4].map((i) => {
      const pair = out.responses[i] as [string, string];
      const scores = scoreTexts({ model: costModel, tokenizer, maxLength: costModel.contextLength }, pair.map((response) => ({ ...(out.prompts[i] as { prompt: string }), response })), 64).scores;
      return Math.max(...scores);
    });
    for (const [k, c] of rescored.entries()) expect(c).toBeCloseTo(out.keptCosts[k] as number, 5);
  });
});
