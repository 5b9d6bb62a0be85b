// `safealign pipeline --methods micro,weak_to_strong`: MiCRo per annotator type against one Bradley-Terry head (types on in the world), and weak-to-strong's PGR, in report.json and the report.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RobustResults } from '../../src/pipeline/methods.js';
import { writeTinyPipelineConfig } from '../helpers/tiny-pipeline.js';

const runs = mkdtempSync(join(tmpdir(), 'robust-models-'));
const config = writeTinyPipelineConfig(runs, 'm', {
  world: '{ pairs: { train: 300, test: 60 }, annotators: { types: { share: 0.6 } } }',
  shaping: '{ nus: [] }',
  rounds: '{ count: 0 }',
  ensemble: '{ members: 0 }',
  rl: '{ steps: 1, promptsPerStep: 8, miniBatchSize: 8, maxNewTokens: 8, checkpointEvery: 1 }',
  micro: '{ heads: 2, epochs: 0.3, routing: { pairs: 5 } }',
});
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };

describe('pipeline --methods micro,weak_to_strong', () => {
  it('reports MiCRo per hidden annotator type and weak-to-strong PGR, training no policy for them', () => {
    const out = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--config', config, '--methods', 'micro,weak_to_strong'], { env, encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(runs, 'm', 'report.json'), 'utf8')) as { models: Record<string, unknown>; robust: RobustResults };
    expect(Object.keys(report.models)).toEqual(['sft', 'ppo', 'ppo_lag']);
    const micro = report.robust.micro;
    // 900 per-annotator labels (300 pairs x 3); the test pairs' 180 labels grouped by the world's hidden types
    expect(micro?.trainLabels).toBe(900);
    expect(Object.keys(micro?.byGroup ?? {}).sort()).toEqual(['all', 'brief', 'cautious', 'detailed', 'standard']);
    expect(micro?.byGroup.all?.n).toBe(180);
    for (const g of Object.values(micro?.byGroup ?? {})) for (const a of [g.micro, g.microUnrouted, g.single]) expect(a).toBeGreaterThanOrEqual(0);
    for (const w of Object.values(micro?.routedWeights ?? {})) expect(w.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
    expect(existsSync(join(runs, 'm', 'micro', 'micro', 'model', 'model.safetensors'))).toBe(true);
    const w2s = report.robust.weakToStrong;
    // half of the annotator-labelled train pairs each way: the world's 300 and the SFT policy's 24, minus the 10% validation split of each
    expect((w2s?.pairs.weak ?? 0) + (w2s?.pairs.student ?? 0)).toBe(270 + 22);
    const a = w2s?.accuracy;
    for (const v of Object.values(a ?? {})) expect(v).toBeGreaterThan(0);
    const gap = (a?.strongCeiling ?? 0) - (a?.weak ?? 0);
    if (gap > 0) expect(w2s?.pgr.plain).toBeCloseTo(((a?.strongOnWeak ?? 0) - (a?.weak ?? 0)) / gap, 10);
    const html = readFileSync(join(runs, 'm', 'report.html'), 'utf8');
    expect(html).toContain('MiCRo: 2 reward heads vs one Bradley–Terry model');
    expect(html).toContain('Weak-to-strong reward models');
  }, 600_000);
});
