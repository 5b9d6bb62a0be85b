// RL stopped after a checkpoint and resumed ends exactly where an uninterrupted run ends: parameters, optimiser and λ state, log.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainRl } from '../../src/algorithms/rl/train.js';
import { silentProgress, type Progress } from '../../src/core/progress.js';
import { paramHash, runTiny, tinyConfig, tinyJudge, tinyMethod, tinyModels, tinyPrompts, tinyPtx } from './rl-tiny.js';

const configs = { ppo_lag: tinyConfig({ steps: 5, checkpointEvery: 2 }), ppo: tinyConfig({ steps: 5, checkpointEvery: 2 }), safe_grpo: tinyConfig({ steps: 5, checkpointEvery: 2, samplesPerPrompt: 2 }) };
const checkpoint = (dir: string) => ({
  json: JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8')) as Record<string, unknown>,
  tensors: readFileSync(join(dir, 'checkpoint', 'state.safetensors')),
});

describe.each(['ppo_lag', 'ppo', 'safe_grpo'] as const)('%s resume', (name) => {
  it('killed after step 3 (last checkpoint at step 2), resumed to step 5: identical to 5 uninterrupted steps', () => {
    const config = configs[name];
    const straightDir = mkdtempSync(join(tmpdir(), `rl-straight-${name}-`));
    const straight = runTiny(name, config, straightDir);
    expect(straight.log).toHaveLength(5);

    const dir = mkdtempSync(join(tmpdir(), `rl-resumed-${name}-`));
    const crashing: Progress = { ...silentProgress, update: (done) => { if (done === 3) throw new Error('killed'); } };
    const first = tinyMethod(name);
    const a = tinyModels(first);
    expect(() => trainRl({ method: first, models: a.models, tokenizer: a.tokenizer, prompts: tinyPrompts, ptxData: tinyPtx, config, outDir: dir, judge: tinyJudge, progress: crashing })).toThrow('killed');

    // A new process: fresh models and method (λ back at init) restored from the checkpoint.
    const method = tinyMethod(name);
    const b = tinyModels(method);
    const messages: string[] = [];
    const resumed = trainRl({ method, models: b.models, tokenizer: b.tokenizer, prompts: tinyPrompts, ptxData: tinyPtx, config, outDir: dir, judge: tinyJudge, progress: { ...silentProgress, log: (m) => messages.push(m) } });
    expect(messages.join('\n')).toMatch(/resuming from step 2\b/);
    expect(resumed.log).toEqual(straight.log);
    expect(paramHash(b.models.actor)).toBe(straight.actorHash);
    for (const [s, c] of Object.entries(b.models.critics)) expect(paramHash(c), `critic ${s}`).toBe(straight.criticHashes[s]);
    // The final checkpoints hold actor, critics, both optimisers' moments and step counts, and the method state
    // (log λ, the cost window, its step count): byte for byte the same.
    const want = checkpoint(straightDir);
    const got = checkpoint(dir);
    expect(got.json).toEqual(want.json);
    expect(got.tensors.equals(want.tensors)).toBe(true);
    if (name !== 'ppo') expect(got.json.method).toMatchObject({ steps: 5, window: expect.any(Array) as unknown });
  });
});
