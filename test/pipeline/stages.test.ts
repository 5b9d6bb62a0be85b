import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StageRunner } from '../../src/pipeline/stages.js';
import { PipelineConfigSchema } from '../../src/pipeline/config.js';
import { assertSameConfig, configDifferences, runPipeline } from '../../src/pipeline/run.js';

describe('StageRunner', () => {
  it('runs a stage once and reuses its saved result on the next run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stages-'));
    let calls = 0;
    const first = new StageRunner(dir);
    const a = await first.run('sft', () => {
      calls++;
      return { loss: 1.5 };
    });
    expect(a).toEqual({ loss: 1.5 });
    expect(existsSync(join(dir, 'sft', 'stage.json'))).toBe(true);
    const second = new StageRunner(dir);
    const b = await second.run('sft', () => {
      calls++;
      return { loss: 9 };
    });
    expect(b).toEqual({ loss: 1.5 });
    expect(calls).toBe(1);
    expect(second.timings.sft).toBeGreaterThanOrEqual(0);
  });

  it('re-runs a stage whose earlier attempt failed, and keeps the time already spent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stages-'));
    const runner = new StageRunner(dir);
    await expect(
      runner.run('ppo', async () => {
        await new Promise((r) => setTimeout(r, 30));
        throw new Error('killed');
      }),
    ).rejects.toThrow('killed');
    expect(existsSync(join(dir, 'ppo', 'stage.json'))).toBe(false);
    const result = await new StageRunner(dir).run('ppo', () => 'ok');
    expect(result).toBe('ok');
    expect(new StageRunner(dir).timings.ppo).toBeUndefined();
    const again = new StageRunner(dir);
    await again.run('ppo', () => 'not run');
    expect(again.timings.ppo).toBeGreaterThanOrEqual(0.03);
  });
});

describe('resuming a run with another config', () => {
  it('lists the fields that differ, ignoring threads and paths', () => {
    const a = PipelineConfigSchema.parse({});
    const b = PipelineConfigSchema.parse({ threads: 1, rl: { steps: 60 }, ppoLag: { lagrange: { rule: 'safe-rlhf' } } });
    expect(configDifferences(a, b)).toEqual(['rl.steps', 'ppoLag.lagrange.rule']);
    expect(configDifferences(a, PipelineConfigSchema.parse({ threads: 2 }))).toEqual([]);
  });

  it('refuses before doing any work and says what changed and what to do', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'runs-'));
    mkdirSync(join(runsDir, 'x'));
    writeFileSync(join(runsDir, 'x', 'config.json'), JSON.stringify(PipelineConfigSchema.parse({ name: 'x', runsDir })));
    const changed = PipelineConfigSchema.parse({ name: 'x', runsDir, rl: { steps: 60 } });
    await expect(runPipeline(changed)).rejects.toThrow(/holds a run made with a different config:\n {2}rl\.steps: 30 -> 60\n.*--name/);
    expect(existsSync(join(runsDir, 'x', 'world'))).toBe(false);
  });

  it('reads a config saved before a setting existed with that setting at its default; methods may change', () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'runs-'));
    mkdirSync(join(runsDir, 'x'));
    const { methods: _m, dpo: _d, safeDpo: _s, sacpo: _p, ...older } = PipelineConfigSchema.parse({ name: 'x', runsDir });
    writeFileSync(join(runsDir, 'x', 'config.json'), JSON.stringify(older));
    const file = join(runsDir, 'x', 'config.json');
    expect(() => assertSameConfig(file, PipelineConfigSchema.parse({ name: 'x', runsDir, methods: ['dpo'] }))).not.toThrow();
    expect(() => assertSameConfig(file, PipelineConfigSchema.parse({ name: 'x', runsDir, dpo: { beta: 0.5 } }))).toThrow(/dpo\.beta: 0\.3 -> 0\.5/);
  });
});
