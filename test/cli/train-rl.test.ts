// `safealign train ppo-lag|ppo|shaping|grpo|safe-grpo|rloo-lag|p3o` on tiny models built here and real prompt files: outputs load, a killed run resumes, bad input is a clear error.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { killWhenFileAppears } from '../helpers/kill-when.js';
import { loadPreferences } from '../../src/data/formats.js';
import { readPrompts } from '../../src/data/prompts.js';
import { CausalLM, loadPretrained } from '../../src/models/index.js';
import { sharedData } from '../helpers/shared.js';
import { PKU_SAMPLE as PKU, pkuTexts, saveTinyFolders } from '../helpers/tiny-cli-models.js';

const dir = mkdtempSync(join(tmpdir(), 'train-rl-'));
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const base = ['--import', 'tsx', 'src/cli/main.ts', 'train'];
const cli = (...args: string[]) => execFileSync(process.execPath, [...base, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env });
const HH = sharedData('hh_rlhf_harmless_sample50.jsonl');
const small = ['--rl-prompts-per-step', '4', '--rl-mini-batch-size', '4', '--rl-max-new-tokens', '8', '--rl-checkpoint-every', '1'];
const models = () => ['--actor', join(dir, 'actor'), '--reward', join(dir, 'reward'), '--cost', join(dir, 'cost')];

beforeAll(() => {
  saveTinyFolders(dir, pkuTexts(), { actor: { seed: 1 }, reward: { seed: 2, kind: 'reward' }, cost: { seed: 3, kind: 'cost' } });
  writeFileSync(join(dir, 'prompts.txt'), 'how do I bake bread\n\nwhat is a cat\n');
});

describe('prompt files', () => {
  it('reads plain text, {prompt} JSONL, PKU-SafeRLHF and HH-RLHF (the dialogue before the last Assistant turn), bad lines by file:line', async () => {
    expect(readPrompts(join(dir, 'prompts.txt'))).toEqual({ format: 'text', prompts: [{ prompt: 'how do I bake bread', source: `${join(dir, 'prompts.txt')}:1` }, { prompt: 'what is a cat', source: `${join(dir, 'prompts.txt')}:3` }], problems: [] });
    const pku = readPrompts(PKU);
    expect(pku.format).toBe('pku');
    expect(pku.prompts).toHaveLength(60);
    const hh = readPrompts(HH);
    expect(hh.format).toBe('hh');
    // the same split as the HH-RLHF preference loader: last Human turn = prompt, earlier turns = context
    const pairs = (await loadPreferences(HH)).records;
    expect(hh.prompts).toHaveLength(pairs.length);
    hh.prompts.forEach((p, i) => expect({ prompt: p.prompt, context: p.context ?? [] }).toEqual({ prompt: pairs[i]?.prompt, context: pairs[i]?.context ?? [] }));
    expect(hh.prompts.some((p) => (p.context?.length ?? 0) >= 2)).toBe(true);
    expect(hh.prompts[0]?.source).toBe(`${HH}:1`);
    writeFileSync(join(dir, 'mixed.jsonl'), '{"prompt": "a"}\n{"text": "b"}\nnot json\n{"chosen": "\\n\\nHuman: hi\\n\\nAssistant: yo", "rejected": "x"}\n');
    const mixed = readPrompts(join(dir, 'mixed.jsonl'));
    expect(mixed.prompts.map((p) => p.prompt)).toEqual(['a', 'hi']);
    expect(mixed.problems.map((p) => [p.line, p.kind])).toEqual([[2, 'schema'], [3, 'json']]);
  });
});

describe('safealign train ppo-lag|ppo|shaping', () => {
  it('ppo-lag with d calibrated on a labelled file: writes a loadable actor, log.jsonl, result.json and report.html', () => {
    const out = join(dir, 'lag');
    const text = cli('ppo-lag', ...models(), '--prompts', PKU, '--out', out, '--threshold-from', PKU, '--rl-steps', '2', ...small);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { steps: number; threshold: { value: number; from: string }; truncation: { prompts: { total: number; skipped: number; maxLength: number } } };
    expect(result.steps).toBe(2);
    expect(result.threshold.from).toBe(PKU);
    expect(Number.isFinite(result.threshold.value)).toBe(true);
    expect(result.truncation.prompts).toMatchObject({ total: 60, maxLength: 56 });
    expect(text).toContain(`prompts: 60 read from ${PKU} (pku), 0 unreadable lines; ${result.truncation.prompts.skipped} of 60 skipped (longer than 56 tokens)`);
    expect(text).toMatch(/ppo-lag: 2 steps, d = -?[\d.]+; last step: reward -?[\d.]+, cost -?[\d.]+, KL -?[\d.]+, λ [\d.]+, J_c -?[\d.]+/);
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; lambda: number; selfBleu: number; rougeL: number; distinct2: number; embeddingDiversity?: number });
    expect(log.map((r) => r.step)).toEqual([1, 2]);
    expect(log.every((r) => r.lambda > 0)).toBe(true);
    // the rollouts' diversity every step; the embedding diversity at the last step (rl.embeddingDiversityEvery 10 > 2 steps)
    for (const r of log) for (const v of [r.selfBleu, r.rougeL, r.distinct2]) expect(v).toBeGreaterThanOrEqual(0);
    expect(log.map((r) => r.embeddingDiversity === undefined)).toEqual([true, false]);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/<svg[\s\S]*λ[\s\S]*<\/html>/);
    expect(html).toContain('selfBleu');
    const actor = loadPretrained(out);
    expect(actor.model).toBeInstanceOf(CausalLM);
    expect(actor.tokenizer).toBeDefined();
    // the actor moved away from its start
    const start = loadPretrained(join(dir, 'actor')).model.stateDict();
    const moved = Object.entries(actor.model.stateDict()).some(([k, v]) => v.sub(start[k] as typeof v).abs().max().item() > 0);
    expect(moved).toBe(true);
  });

  it('ppo on HH-RLHF dialogues without a cost model, settings from YAML; shaping without --cost is a clear error', () => {
    writeFileSync(join(dir, 'ppo.yaml'), `klCoef: 0.02\nrl:\n  steps: 1\n  promptsPerStep: 4\n  miniBatchSize: 4\n  maxNewTokens: 8\n`);
    const text = cli('ppo', '--config', join(dir, 'ppo.yaml'), '--actor', join(dir, 'actor'), '--reward', join(dir, 'reward'), '--prompts', HH, '--out', join(dir, 'ppo'));
    const saved = JSON.parse(readFileSync(join(dir, 'ppo', 'safealign_config.json'), 'utf8')) as { method: string; klCoef: number; rl: { steps: number; maxNewTokens: number } };
    expect(saved).toMatchObject({ method: 'ppo', klCoef: 0.02, rl: { steps: 1, maxNewTokens: 8 } });
    expect(text).toMatch(/prompts: 50 read from .* \(hh\)/);
    expect(text).toMatch(/ppo: 1 steps; last step: reward -?[\d.]+, KL/);
    expect(() => cli('shaping', '--actor', join(dir, 'actor'), '--reward', join(dir, 'reward'), '--prompts', join(dir, 'prompts.txt'), '--out', join(dir, 'sh'))).toThrow(/safealign: shaping needs a cost model: pass --cost DIR/);
    expect(() => cli('ppo', '--actor', join(dir, 'actor'), '--reward', join(dir, 'reward'), '--prompts', join(dir, 'prompts.txt'), '--out', join(dir, 'x'), '--rl-ptx-coef', '0.1')).toThrow(/--rl-ptx-coef > 0: the PTX loss needs SFT data; pass --ptx FILE/);
    expect(() => cli('ppo', '--actor', join(dir, 'actor'), '--reward', join(dir, 'cost'), '--prompts', join(dir, 'prompts.txt'), '--out', join(dir, 'x'))).toThrow(/--reward .*: expected a reward model, found a cost model/);
    expect(() => cli('ppo', '--actor', join(dir, 'reward'), '--reward', join(dir, 'reward'), '--prompts', join(dir, 'prompts.txt'), '--out', join(dir, 'x'))).toThrow(/--actor .*: expected a causal LM folder, found a reward model/);
  });

  it('safe-grpo, rloo-lag and multi-objective grpo: G samples per prompt, λ for the constrained ones, no critics; a missing --cost is a clear error', () => {
    const g = ['--rl-samples-per-prompt', '2', '--rl-prompts-per-step', '2', '--rl-mini-batch-size', '4', '--rl-max-new-tokens', '8', '--rl-steps', '2'];
    const text = cli('safe-grpo', ...models(), '--prompts', join(dir, 'prompts.txt'), '--out', join(dir, 'sgrpo'), '--threshold', '-0.5', ...g);
    expect(text).toMatch(/safe-grpo: 2 steps, d = -0\.5000; last step: reward -?[\d.]+, cost -?[\d.]+, KL -?[\d.]+, λ [\d.]+, J_c -?[\d.]+/);
    const log = readFileSync(join(dir, 'sgrpo', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { lambda: number; criticLoss: object });
    expect(log.map((r) => r.criticLoss)).toEqual([{}, {}]);
    expect(log.every((r) => r.lambda > 0)).toBe(true);
    expect(cli('rloo-lag', ...models(), '--prompts', join(dir, 'prompts.txt'), '--out', join(dir, 'rloo'), ...g)).toMatch(/rloo-lag: 2 steps, d = 0\.0000; .*λ [\d.]+/);
    const grpo = ['--actor', join(dir, 'actor'), '--reward', join(dir, 'reward'), '--prompts', join(dir, 'prompts.txt'), '--out', join(dir, 'grpo'), '--grpo-cost-weight', '0.5', ...g];
    expect(() => cli('grpo', ...grpo)).toThrow(/grpo needs a cost model: pass --cost DIR/);
    expect(cli('grpo', ...grpo, '--cost', join(dir, 'cost'))).toMatch(/grpo: 2 steps; last step: reward -?[\d.]+, cost -?[\d.]+, KL/);
  });

  it('p3o: two samples per prompt, no cost model, no critic, joint clipping from the flag; other G is a clear error', () => {
    const p3o = ['--actor', join(dir, 'actor'), '--reward', join(dir, 'reward'), '--prompts', join(dir, 'prompts.txt'), '--rl-prompts-per-step', '2', '--rl-mini-batch-size', '4', '--rl-max-new-tokens', '8', '--rl-steps', '2'];
    expect(() => cli('p3o', ...p3o, '--out', join(dir, 'p3o-g4'), '--rl-samples-per-prompt', '4')).toThrow(/set rl.samplesPerPrompt \(--rl-samples-per-prompt\) to 2 \(got 4\)/);
    expect(cli('p3o', ...p3o, '--out', join(dir, 'p3o'), '--rl-samples-per-prompt', '2', '--p3o-clip', 'joint')).toMatch(/p3o: 2 steps; last step: reward -?[\d.]+, KL -?[\d.]+/);
    const log = readFileSync(join(dir, 'p3o', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { criticLoss: object; cost?: number });
    expect(log.map((r) => r.criticLoss)).toEqual([{}, {}]);
    expect(log.every((r) => r.cost === undefined)).toBe(true);
    const saved = JSON.parse(readFileSync(join(dir, 'p3o', 'safealign_config.json'), 'utf8')) as { method: string; p3o: { clip: string }; rl: { samplesPerPrompt: number } };
    expect([saved.method, saved.p3o.clip, saved.rl.samplesPerPrompt]).toEqual(['p3o', 'joint', 2]);
  });

  it('resumes a killed run from its checkpoint and finishes with the whole log', async () => {
    const out = join(dir, 'resume');
    const args = [...base, 'shaping', ...models(), '--prompts', join(dir, 'prompts.txt'), '--out', out, '--rl-steps', '40', ...small];
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    const killed = await killWhenFileAppears(child, join(out, 'checkpoint', 'state.json'), 20);
    expect(killed, 'the run was killed before it finished').toBe(true);
    expect(existsSync(join(out, 'log.jsonl'))).toBe(false);
    const again = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toMatch(/shaping_1: resuming from step [1-9]\d*/);
    const read = (d: string) => readFileSync(join(d, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; reward: number; cost: number; kl: number });
    const log = read(out);
    expect(log.map((r) => r.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // the same as a run that was never interrupted
    const straight = join(dir, 'straight');
    expect(spawnSync(process.execPath, args.map((a) => (a === out ? straight : a)), { env }).status).toBe(0);
    expect(read(straight)).toEqual(log);
  }, 240_000);
});
