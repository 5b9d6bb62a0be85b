// RL stopped after a checkpoint and resumed ends exactly where an uninterrupted run ends: parameters, optimiser and λ state, log.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainRl } from '../../src/algorithms/rl/train.js';
import { silentProgress, type Progress } from '../../src/core/progress.js';
import { paramHash, runTiny, tinyConfig, tinyJudge, tinyMethod, tinyModels, tinyPrompts, tinyPtx, type TinyMethod } from './rl-tiny.js';

const plain = tinyConfig({ steps: 5, checkpointEvery: 2 });
// actor and critic adapters (dropout on): the resumed run must rebuild the same adapters before loading them
const lora = tinyConfig({ steps: 5, checkpointEvery: 2, actorLora: { r: 2, dropout: 0.1 }, criticLora: { r: 2 } });
// critic-free: G = 2 samples per prompt
const grouped = tinyConfig({ steps: 5, checkpointEvery: 2, samplesPerPrompt: 2 });
const checkpoint = (dir: string) => ({
  json: JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8')) as Record<string, unknown>,
  tensors: readFileSync(join(dir, 'checkpoint', 'state.safetensors')),
});

describe.each([['ppo_lag', false], ['ppo', false], ['ppo_lag', true], ['safe_grpo', false]] as [TinyMethod, boolean][])('%s resume (LoRA %s)', (name, withLora) => {
  const config = withLora ? lora : name === 'safe_grpo' ? grouped : plain;
  it('killed after step 3 (last checkpoint at step 2), resumed to step 5: identical to 5 uninterrupted steps', () => {
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
