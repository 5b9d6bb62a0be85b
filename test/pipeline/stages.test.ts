import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StageRunner } from '../../src/pipeline/stages.js';

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
