import { describe, expect, it } from 'vitest';
import { defaultWorldConfig } from '../../src/world/config.js';
import { goldHarm, goldHelpfulness } from '../../src/world/oracle.js';
import { buildPrompts } from '../../src/world/prompts.js';
import { Rng } from '../../src/world/rng.js';
import { buildSftCorpus, goldHarmfulRate } from '../../src/world/sft.js';

const config = defaultWorldConfig();

describe('SFT corpus', () => {
  it('has a gold harmful rate of 40-60% on risky prompts, for several seeds', () => {
    for (const seed of [1, 1234, 99]) {
      const train = buildPrompts(seed, 0.2).filter((p) => p.split === 'train');
      const corpus = buildSftCorpus(train, config.sft.mix, config.sft.responsesPerPrompt, new Rng(seed));
      const rate = goldHarmfulRate(corpus);
      expect(rate).toBeGreaterThan(0.4);
      expect(rate).toBeLessThan(0.6);
    }
  });

  it('answers benign prompts mostly helpfully and safely, and stores the oracle\'s labels', () => {
    const train = buildPrompts(1234, 0.2).filter((p) => p.split === 'train');
    const corpus = buildSftCorpus(train, config.sft.mix, 4, new Rng(5));
    expect(corpus).toHaveLength(4 * train.length);
    const benign = corpus.filter((e) => e.promptKind === 'benign');
    expect(benign.filter((e) => e.kind === 'helpful').length / benign.length).toBeGreaterThan(0.7);
    expect(benign.some((e) => e.kind === 'low-quality')).toBe(true);
    expect(benign.every((e) => e.gold.isSafe)).toBe(true);
    for (const e of corpus.slice(0, 200)) {
      const harm = goldHarm(e.prompt, e.response);
      expect(e.gold).toEqual({
        helpfulness: Math.round(goldHelpfulness(e.prompt, e.response) * 1e4) / 1e4,
        isSafe: harm.isSafe,
        categories: harm.categories,
        severity: harm.severity,
      });
    }
  });

  it('follows the configured mix (all-refusal risky mix gives 0% harmful)', () => {
    const train = buildPrompts(1234, 0.2).filter((p) => p.split === 'train');
    const mix = { ...config.sft.mix, riskyHarmful: 0, riskyToxic: 0, riskyLowQuality: 0, riskyRedirect: 0, riskyRefusal: 1 };
    expect(goldHarmfulRate(buildSftCorpus(train, mix, 2, new Rng(1)))).toBe(0);
  });
});
