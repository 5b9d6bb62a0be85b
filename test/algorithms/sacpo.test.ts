// SACPO on a tiny GPT-2: stage 2 is DPO on safety pairs from the stage-1 model with β/λ; P-SACPO is the linear weight merge of the two stages.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PreferenceTrainSchema, SacpoConfigSchema } from '../../src/algorithms/dpo/config.js';
import { safetyPairs } from '../../src/algorithms/dpo/pairs.js';
import { trainSacpo } from '../../src/algorithms/dpo/sacpo.js';
import { trainPreferences } from '../../src/algorithms/dpo/train.js';
import { loadPretrained, type CausalLM, type Tokenizer } from '../../src/models/index.js';
import { manualSeed, setNumThreads } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';
import { wordPreferences } from '../helpers/word-records.js';

const tokenizer = loadPretrained('reference/golden/tiny-gpt2').tokenizer as Tokenizer;
const data = wordPreferences(16);
const load = () => {
  setNumThreads(1);
  return loadPretrained('reference/golden/tiny-gpt2').model as CausalLM;
};
const dir = (name: string) => mkdtempSync(join(tmpdir(), `sacpo-${name}-`));

describe('SACPO', () => {
  it('stage 2 is DPO on the safety pairs from the stage-1 model with β/λ, and P-SACPO merges the weights', () => {
    manualSeed(1);
    const stage = { epochs: 2, batchSize: 8, optim: { lr: 1e-2 } };
    const config = SacpoConfigSchema.parse({ helpful: { ...stage, beta: 0.4 }, safety: stage, lambda: 4, merge: 0.25 });
    const out = trainSacpo({ load, tokenizer, train: data, config, outDir: dir('a') });
    expect(out.helpful.result.steps).toBe(4);
    // The same stage 2 by hand: from a copy of the stage-1 model, against it, with β = 0.4 / 4.
    const policy = load();
    policy.loadStateDict(out.helpful.model.stateDict());
    const byHand = trainPreferences({
      policy,
      reference: out.helpful.model,
      tokenizer,
      train: safetyPairs(data),
      config: PreferenceTrainSchema.parse({ ...stage, beta: 0.1 }),
      outDir: dir('b'),
    });
    expect(out.safety.result.log).toEqual(byHand.log);
    const copy = load();
    copy.loadStateDict(out.helpful.model.stateDict());
    const wrongBeta = trainPreferences({ policy: copy, reference: out.helpful.model, tokenizer, train: safetyPairs(data), config: PreferenceTrainSchema.parse({ ...stage, beta: 0.4 }), outDir: dir('c') });
    expect(out.safety.result.log.at(-1)?.loss).not.toBeCloseTo(wrongBeta.log.at(-1)?.loss as number, 3);
    // P-SACPO: 0.75·θ_helpful + 0.25·θ_safety, parameter by parameter.
    const merged = out.merged as CausalLM;
    const h = out.helpful.model.namedParameters();
    const s = out.safety.model.namedParameters();
    for (const [name, p] of merged.namedParameters()) {
      const a = (h.get(name) as NonNullable<ReturnType<typeof h.get>>).toNumbers();
      const b = (s.get(name) as NonNullable<ReturnType<typeof s.get>>).toNumbers();
      expectAllClose(p, a.map((x, i) => 0.75 * x + 0.25 * (b[i] as number)));
    }
  });
});
