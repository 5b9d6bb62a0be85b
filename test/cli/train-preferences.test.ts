// `safealign train dpo|safe-dpo|sacpo|mocan|alol` on the shipped PKU-SafeRLHF sample with a tiny GPT-2 whose context (64) cuts many records.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CausalLM, createCausalLM, loadPretrained, parseModelConfig, savePretrained, ScoreModel, trainWordLevel } from '../../src/models/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { sharedData } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'train-pref-cli-'));
const pku = sharedData('pku_saferlhf_sample60.jsonl');
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' } });
const run = (method: string, out: string, ...flags: string[]) => cli('train', method, '--model', join(dir, 'base'), '--train', pku, '--out', join(dir, out), ...flags);

beforeAll(() => {
  const rows = readFileSync(pku, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
  const tok = trainWordLevel([...rows.flatMap((r) => [r.prompt, r.response_0, r.response_1] as string[]), 'BEGINNING OF CONVERSATION : USER ASSISTANT'], { vocabSize: 3000 });
  manualSeed(0);
  const model = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 1, n_head: 2, n_positions: 64, vocab_size: tok.vocabSize }));
  savePretrained(join(dir, 'base'), model, { tokenizer: tok });
  for (const [kind, seed] of [['reward', 1], ['cost', 2]] as const) {
    manualSeed(seed);
    const backbone = createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 1, n_head: 2, n_positions: 64, vocab_size: tok.vocabSize }));
    savePretrained(join(dir, kind), ScoreModel.fromCausalLM(backbone, kind), { tokenizer: tok });
  }
});

interface Result {
  data: { records: number; withSafetyLabels: number };
  stages: Record<string, { steps: number; truncation: { total: number; truncated: number; skipped: number }; last: { margin: number }; test?: { n: number } }>;
}
const result = (out: string) => JSON.parse(readFileSync(join(dir, out, 'result.json'), 'utf8')) as Result;

describe('safealign train dpo|safe-dpo|sacpo|mocan|alol', () => {
  it('dpo trains on PKU-SafeRLHF, counts the cut pairs, logs implicit rewards, and resumes a finished run', () => {
    const out = run('dpo', 'dpo', '--test', pku, '--dpo-epochs', '2', '--dpo-batch-size', '8', '--dpo-optim-lr', '0.003');
    expect(out).toMatch(/dpo: 16 steps; last step: loss [\d.]+, chosen reward -?[\d.]+, rejected reward -?[\d.]+, margin -?[\d.]+/);
    const r = result('dpo');
    expect(r.data.records).toBe(60);
    expect(r.stages.dpo?.truncation.total).toBe(60);
    expect(r.stages.dpo?.truncation.truncated).toBeGreaterThan(10);
    expect(r.stages.dpo?.truncation.skipped).toBeGreaterThan(0);
    expect(r.stages.dpo?.test?.n).toBe(60 - (r.stages.dpo?.truncation.skipped as number));
    const log = readFileSync(join(dir, 'dpo', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: string; chosenReward: number });
    expect(log).toHaveLength(16);
    expect(log[0]?.stage).toBe('dpo');
    expect(loadPretrained(join(dir, 'dpo')).model).toBeInstanceOf(CausalLM);
    expect(existsSync(join(dir, 'dpo', 'reference_logprobs.json'))).toBe(true);
    // the same command again: resumes at the end, no step repeated
    const again = run('dpo', 'dpo', '--dpo-epochs', '2', '--dpo-batch-size', '8', '--dpo-optim-lr', '0.003');
    expect(again).toMatch(/dpo: 16 steps/);
  });

  it('safe-dpo and sacpo (with the P-SACPO merge) train on the safety labels', () => {
    const safe = run('safe-dpo', 'safe', '--safe-dpo-delta', '2', '--safe-dpo-batch-size', '16');
    expect(safe).toMatch(/safe-dpo: 4 steps/);
    expect(result('safe').data.withSafetyLabels).toBe(60);
    const sacpo = run('sacpo', 'sacpo', '--sacpo-lambda', '2', '--sacpo-merge', '0.5', '--sacpo-helpful-batch-size', '16', '--sacpo-safety-batch-size', '16');
    expect(sacpo).toMatch(/helpful: 4 steps/);
    expect(sacpo).toMatch(/safety: \d+ steps/);
    for (const sub of ['', 'helpful', 'merged']) expect(loadPretrained(join(dir, 'sacpo', sub)).model).toBeInstanceOf(CausalLM);
  });

  it('mocan estimates λ* on samples of the model for the budget calibrated from the labels, relabels the pairs and trains', () => {
    const flags = ['--reward', join(dir, 'reward'), '--cost', join(dir, 'cost'), '--threshold-from', pku, '--mocan-samples-per-prompt', '4', '--mocan-prompts', '12', '--mocan-max-new-tokens', '8', '--mocan-preference-batch-size', '16'];
    const out = run('mocan', 'mocan', ...flags);
    expect(out).toMatch(/mocan: budget d = -?[\d.]+; λ\* = [\d.]+ from 48 samples on 12 prompts/);
    expect(out).toMatch(/mocan: \d+ pairs relabelled by r − λ·c, \d+ against the helpfulness label/);
    expect(out).toMatch(/mocan: \d+ steps; last step: loss/);
    const r = JSON.parse(readFileSync(join(dir, 'mocan', 'result.json'), 'utf8')) as Result & { mocan: { threshold: { from: string }; dual: { lambda: number; samples: number; tiltedCost: number; threshold: number; infeasible: boolean }; relabel: { pairs: number; unscored: number } } };
    expect(r.mocan.threshold.from).toBe(pku);
    expect(r.mocan.dual.samples).toBe(48);
    // the budget from these labels is below every sampled cost of this random cost model: reported, λ stops at lambdaMax
    expect(r.mocan.dual.infeasible).toBe(true);
    expect(r.mocan.dual.lambda).toBe(1000);
    expect(out).toMatch(/INFEASIBLE/);
    // pairs whose prompt fills the score models' context cannot be scored: left out and counted
    expect(r.mocan.relabel.pairs + r.mocan.relabel.unscored).toBe(60);
    expect(r.mocan.relabel.unscored).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'mocan', 'dual.json'))).toBe(true);
    expect(loadPretrained(join(dir, 'mocan')).model).toBeInstanceOf(CausalLM);
    // a budget just below the unconstrained optimum's cost binds: λ* > 0 and the aligned policy's predicted cost is d
    const d = (r.mocan.dual as unknown as { costAtZero: number }).costAtZero - 0.01;
    const direct = ['--reward', join(dir, 'reward'), '--cost', join(dir, 'cost'), '--threshold', String(d), ...flags.slice(6)];
    run('mocan', 'mocan-bound', ...direct);
    const bound = (JSON.parse(readFileSync(join(dir, 'mocan-bound', 'result.json'), 'utf8')) as typeof r).mocan.dual;
    expect(bound.lambda).toBeGreaterThan(0);
    expect(bound.tiltedCost).toBeCloseTo(d, 5);
    // a fixed λ skips the sampling
    expect(run('mocan', 'mocan-fixed', ...direct, '--mocan-lambda', '3')).toMatch(/λ = 3 \(fixed\)/);
  });

  it('alol fits V on the model\'s own samples, trains on the responses with A > 0, and asks for --cost when ν > 0', () => {
    const flags = ['--reward', join(dir, 'reward'), '--alol-value-prompts', '12', '--alol-value-samples-per-prompt', '2', '--alol-value-max-new-tokens', '8', '--alol-batch-size', '16', '--alol-variant', 'seq'];
    const out = run('alol', 'alol', ...flags);
    expect(out).toMatch(/alol: V fitted on 24 samples of the reference policy on 12 prompts/);
    expect(out).toMatch(/alol: \d+ of 120 responses with A = R − V > 0/);
    expect(out).toMatch(/alol: \d+ steps; last step: loss -?[\d.]+, NLL [\d.]+/);
    const r = JSON.parse(readFileSync(join(dir, 'alol', 'result.json'), 'utf8')) as { alol: { advantages: { items: number; positive: number; unscored: number } }; stages: { alol: { truncation: { total: number; skipped: number } } } };
    // the responses whose prompt fills the reward model's context cannot be scored: counted, never trained on
    expect(r.alol.advantages.unscored).toBeGreaterThan(0);
    expect(r.stages.alol.truncation.total).toBe(r.alol.advantages.positive);
    expect(loadPretrained(join(dir, 'alol')).model).toBeInstanceOf(CausalLM);
    expect(existsSync(join(dir, 'alol', 'advantages.json'))).toBe(true);
    expect(() => run('alol', 'alol-nocost', ...flags, '--alol-cost-weight', '1')).toThrow(/needs a cost model; pass --cost DIR/);
  });

  it('safe-dpo on pairs without safety labels says what it needs', () => {
    expect(() => cli('train', 'safe-dpo', '--model', join(dir, 'base'), '--train', sharedData('hh_rlhf_harmless_sample50.jsonl'), '--out', join(dir, 'hh'))).toThrow(/safe-dpo needs per-response safety labels.*none of the \d+ hh records/);
  });
});
