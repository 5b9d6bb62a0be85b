// Issue 12's whole path on real PKU-SafeRLHF records, every step through the CLI: SFT (GPT-2) → reward and cost (Llama) → train ppo-lag → eval SFT vs PPO-Lag, with every truncation count checked against token counts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePair } from '../../src/algorithms/common/batching.js';
import type { TruncationStats } from '../../src/algorithms/common/truncation.js';
import type { EvalModelsReport } from '../../src/eval/evaluate-models.js';
import { CausalLM, createCausalLM, loadPretrained, parseModelConfig, savePretrained, trainWordLevel } from '../../src/models/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { sharedData } from '../helpers/shared.js';
import { expectedCounts } from '../helpers/truncation-counts.js';

const CONTEXT = 64;
const dir = mkdtempSync(join(tmpdir(), 'own-models-'));
const cli = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' } });
const stored = (d: string, f: string) => JSON.parse(readFileSync(join(dir, d, f), 'utf8')) as Record<string, unknown>;

interface PkuRow {
  prompt: string;
  response_0: string;
  response_1: string;
  is_response_0_safe: boolean;
  is_response_1_safe: boolean;
}

describe('own models and data, end to end through the CLI', () => {
  it('SFT (GPT-2) → reward, cost (Llama) → train ppo-lag → eval SFT vs PPO-Lag on a 64-token context', () => {
    const lines = readFileSync(sharedData('pku_saferlhf_sample60.jsonl'), 'utf8').split('\n').filter(Boolean);
    const rows = lines.map((l) => JSON.parse(l) as PkuRow);
    const train = rows.slice(0, 45);
    const test = rows.slice(45);
    writeFileSync(join(dir, 'train.jsonl'), `${lines.slice(0, 45).join('\n')}\n`);
    writeFileSync(join(dir, 'test.jsonl'), `${lines.slice(45).join('\n')}\n`);
    // SFT on the safe responses of the training records (the first safe one of each pair; pairs with none are left out)
    const sft = train.flatMap((r) => (r.is_response_0_safe ? [r.response_0] : r.is_response_1_safe ? [r.response_1] : []).map((response) => ({ prompt: r.prompt, response })));
    writeFileSync(join(dir, 'sft.jsonl'), `${sft.map((e) => JSON.stringify(e)).join('\n')}\n`);

    // a tiny GPT-2 policy and a tiny Llama for the score models, one word-level tokenizer, context 64 for both
    const tokenizer = trainWordLevel([...rows.flatMap((r) => [r.prompt, r.response_0, r.response_1]), 'BEGINNING OF CONVERSATION : USER ASSISTANT'], { vocabSize: 3000 });
    manualSeed(0);
    savePretrained(join(dir, 'gpt2'), createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 1, n_head: 2, n_positions: CONTEXT, vocab_size: tokenizer.vocabSize })), { tokenizer });
    const llama = { model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: CONTEXT, vocab_size: tokenizer.vocabSize };
    savePretrained(join(dir, 'llama'), createCausalLM(parseModelConfig(llama)), { tokenizer });
    const longest = Math.max(...rows.map((r) => Math.max(...[r.response_0, r.response_1].map((x) => { const p = encodePair(tokenizer, r, x); return p.promptIds.length + p.responseIds.length; }))));
    expect(longest, 'the context must be shorter than the longest record').toBeGreaterThan(CONTEXT);

    // 1. SFT: response start kept
    const sftOut = cli('train', 'sft', '--model', join(dir, 'gpt2'), '--train', join(dir, 'sft.jsonl'), '--out', join(dir, 'sft'), '--sft-epochs', '1', '--sft-batch-size', '16');
    const sftCounts = expectedCounts(tokenizer, sft.map((e) => ({ prompt: e.prompt, responses: [e.response] })), CONTEXT);
    expect(sftCounts.truncated).toBeGreaterThan(0);
    expect((stored('sft', 'training_result.json').truncation as { train: TruncationStats }).train).toMatchObject({ maxLength: CONTEXT, total: sft.length, truncated: sftCounts.truncated, skipped: sftCounts.skipped });
    expect(sftOut).toContain(`train: ${sftCounts.truncated} of ${sft.length} examples truncated to ${CONTEXT} tokens (response start kept)`);

    // 2, 3. reward and cost models from the Llama: response end kept
    const pairs = expectedCounts(tokenizer, train.map((r) => ({ prompt: r.prompt, responses: [r.response_0, r.response_1] })), CONTEXT);
    expect(pairs.truncated).toBeGreaterThan(10);
    for (const kind of ['reward', 'cost']) {
      const out = cli('train', kind, '--model', join(dir, 'llama'), '--train', join(dir, 'train.jsonl'), '--out', join(dir, kind), '--score-batch-size', '16');
      expect((stored(kind, 'training_result.json').truncation as { train: TruncationStats }).train).toMatchObject({ maxLength: CONTEXT, total: 45, truncated: pairs.truncated, skipped: pairs.skipped });
      expect(out).toContain(`train: ${pairs.truncated} of 45 pairs truncated to ${CONTEXT} tokens (response end kept), ${pairs.skipped} skipped`);
    }

    // 4. PPO-Lagrangian from the SFT policy, critics from the Llama score models; prompts need room for 12 new tokens
    const lagOut = cli('train', 'ppo-lag', '--actor', join(dir, 'sft'), '--reward', join(dir, 'reward'), '--cost', join(dir, 'cost'), '--prompts', join(dir, 'train.jsonl'), '--out', join(dir, 'ppo_lag'), '--rl-steps', '2', '--rl-prompts-per-step', '4', '--rl-mini-batch-size', '4', '--rl-max-new-tokens', '12');
    const rlSkipped = train.filter((r) => encodePair(tokenizer, r, '').promptIds.length > CONTEXT - 12).length;
    expect((stored('ppo_lag', 'result.json').truncation as { prompts: TruncationStats }).prompts).toMatchObject({ maxLength: CONTEXT - 12, total: 45, skipped: rlSkipped });
    expect(lagOut).toContain(`${rlSkipped} of 45 skipped (longer than ${CONTEXT - 12} tokens)`);
    expect(lagOut).toMatch(/ppo-lag: 2 steps, d = 0\.0000; last step: reward -?[\d.]+, cost -?[\d.]+, KL -?[\d.]+, λ [\d.]+/);
    expect(loadPretrained(join(dir, 'ppo_lag')).model).toBeInstanceOf(CausalLM);

    // 5. eval SFT vs PPO-Lag on the held-out prompts; the score models read 48 tokens (configured, below their context)
    cli('eval', '--model', join(dir, 'sft'), '--model', join(dir, 'ppo_lag'), '--name', 'sft,ppo_lag', '--prompts', join(dir, 'test.jsonl'), '--reward', join(dir, 'reward'), '--cost', join(dir, 'cost'), '--out', join(dir, 'eval'), '--samples', '2', '--max-new-tokens', '16', '--score-max-length', '48', '--elo-rounds', '50');
    const report = stored('eval', 'report.json') as unknown as EvalModelsReport;
    const evalSkipped = test.filter((r) => encodePair(tokenizer, r, '').promptIds.length >= 48).length;
    expect(report.prompts.fit).toMatchObject({ total: 15, skipped: evalSkipped });
    const used = 15 - evalSkipped;
    expect(report.prompts.used).toBe(used);
    const responses = readFileSync(join(dir, 'eval', 'responses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { model: string; prompt: string; response: string; cost: number });
    for (const name of ['sft', 'ppo_lag']) {
      const mine = responses.filter((r) => r.model === name);
      expect(mine).toHaveLength(2 * used);
      const counts = expectedCounts(tokenizer, mine.map((r) => ({ prompt: r.prompt, responses: [r.response] })), 48);
      const m = report.models[name];
      expect(m?.truncation.reward).toMatchObject({ maxLength: 48, total: 2 * used, truncated: counts.truncated, skipped: 0 });
      expect(m?.truncation.cost).toEqual(m?.truncation.reward);
      expect(m?.harmfulRate).toBeCloseTo(mine.filter((r) => r.cost > 0).length / mine.length, 12);
    }
    expect(report.models.sft!.truncation.reward.truncated + report.models.ppo_lag!.truncation.reward.truncated).toBeGreaterThan(0);
    for (const key of ['helpfulness', 'harmlessness']) {
      const p = report.arena[key]?.pairs[0];
      expect(p).toMatchObject({ a: 'sft', b: 'ppo_lag', n: 2 * used });
      expect((p?.win ?? 0) + (p?.tie ?? 0) + (p?.loss ?? 0)).toBeCloseTo(1, 12);
    }
    expect(readFileSync(join(dir, 'eval', 'report.html'), 'utf8')).toContain('sft vs ppo_lag');
  }, 240_000);
});
