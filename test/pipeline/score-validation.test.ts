// The validation split of annotator-labelled pairs and the threshold rule calibrated on it.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PipelineConfigSchema } from '../../src/pipeline/config.js';
import { runPipeline } from '../../src/pipeline/run.js';
import type { ScoreEval } from '../../src/algorithms/score/train.js';
import { calibrateThreshold, splitValidation } from '../../src/pipeline/score-validation.js';
import { Rng } from '../../src/world/rng.js';

describe('splitValidation', () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  it('holds out round(fraction·n) items, disjoint from train, both in original order, the same for the same seed', () => {
    const a = splitValidation(items, 0.1, new Rng(7));
    expect(a.validation).toHaveLength(10);
    expect(a.train).toHaveLength(90);
    expect([...a.train, ...a.validation].sort((x, y) => x - y)).toEqual(items);
    expect(a.train).toEqual([...a.train].sort((x, y) => x - y));
    expect(a.validation).toEqual([...a.validation].sort((x, y) => x - y));
    expect(splitValidation(items, 0.1, new Rng(7))).toEqual(a);
    expect(splitValidation(items, 0.1, new Rng(8)).validation).not.toEqual(a.validation);
  });
  it('holds out at least one item when fraction > 0, none when 0', () => {
    expect(splitValidation([1, 2, 3], 0.01, new Rng(1)).validation).toHaveLength(1);
    expect(splitValidation(items, 0, new Rng(1))).toEqual({ train: items, validation: [] });
  });
});

describe('calibrateThreshold', () => {
  const ev = (safeMean: number, unsafeMean: number): ScoreEval => ({ accuracy: 1, safeMean, unsafeMean, safeStd: 1, unsafeStd: 1, n: 10 });
  it('is safeMean + q·(unsafeMean − safeMean)', () => {
    expect(calibrateThreshold(ev(-4, 6), 0)).toBe(-4);
    expect(calibrateThreshold(ev(-4, 6), 1)).toBe(6);
    expect(calibrateThreshold(ev(-4, 6), 0.03)).toBeCloseTo(-3.7, 12);
  });
  it('says what to do when the validation split has no unsafe (or no safe) response', () => {
    expect(() => calibrateThreshold(ev(-4, NaN), 0.03)).toThrow(/no response labelled unsafe.*ppoLag\.lagrange\.threshold/);
    expect(() => calibrateThreshold(ev(NaN, 2), 0.03)).toThrow(/no response labelled safe/);
  });
});

describe('runPipeline without a validation split', () => {
  it('refuses to calibrate d before doing any work, and says which setting to change', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'no-val-'));
    await expect(runPipeline(PipelineConfigSchema.parse({ runsDir, name: 'x', scoreValidation: { fraction: 0 } }))).rejects.toThrow(/scoreValidation\.fraction is 0.*Set one of them/);
    expect(existsSync(join(runsDir, 'x'))).toBe(false);
  });
});
