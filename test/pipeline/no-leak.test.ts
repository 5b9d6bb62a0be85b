// No training stage reads gold labels or test data: altering them leaves every trained artifact bit-identical.
// The same tiny run also checks that held-out requests stay out of training and are evaluated for every model,
// and that round_k's `kl` is measured against SFT and `klToStart` against its start.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPretrained, type CausalLM, type ScoreModel } from '../../src/models/index.js';
import { Tokenizer } from '../../src/models/tokenizer.js';
import { PipelineConfigSchema } from '../../src/pipeline/config.js';
import { evaluatePolicy } from '../../src/pipeline/evaluate-policy.js';
import { readEvaluationSet } from '../../src/pipeline/evaluation-data.js';
import { readTrainingData } from '../../src/pipeline/training-data.js';
import { runPipeline, type PipelineResult } from '../../src/pipeline/run.js';
import { WORLD_FILES } from '../../src/world/build.js';

const runsDir = mkdtempSync(join(tmpdir(), 'no-leak-'));
const tiny = (name: string) =>
  PipelineConfigSchema.parse({
    name,
    runsDir,
    threads: 1,
    world: { pairs: { train: 200, test: 60 } },
    model: { nLayer: 1, nEmbd: 32, nHead: 2 },
    sft: { epochs: 0.3 },
    annotations: { pairs: 16 },
    reward: { epochs: 0.5 },
    cost: { epochs: 0.5 },
    rl: { steps: 2, promptsPerStep: 8, miniBatchSize: 8, maxNewTokens: 12 },
    shaping: { nus: [1] },
    ensemble: { members: 0 },
    rounds: { count: 1, pairs: 8, rlSteps: 1, criticWarmupSteps: 0, candidates: 2 },
    eval: { maxNewTokens: 12, samplesPerPrompt: 1, heldOutSamplesPerPrompt: 1 },
    // the over-optimisation runs log gold at every step and best-of-N reads the test prompts: evaluation only;
    // hc_guarantee's truths read the test prompts and gold, its candidates and safety tests must not
    methods: ['overoptimisation', 'hc_guarantee'],
    overoptimisation: { variants: ['ppo', 'ppo_lag'], steps: 2, promptsPerStep: 8, every: 1, bestOfN: { ns: [1, 2], prompts: 4 } },
    hcGuarantee: { seeds: 1, deltas: [0.1], steps: 1, promptsPerStep: 8, evalSamples: 1 },
  });

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
const writeLines = (path: string, rows: unknown[]) => writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

/** Flips every label of a PKU-SafeRLHF file (better, safer and both is_safe), keeping the records valid. */
function flipLabels(path: string): void {
  writeLines(
    path,
    lines(path).map((r) => ({
      ...r,
      better_response_id: 1 - (r.better_response_id as number),
      safer_response_id: 1 - (r.safer_response_id as number),
      is_response_0_safe: !(r.is_response_0_safe as boolean),
      is_response_1_safe: !(r.is_response_1_safe as boolean),
      response_0_harm_category: r.response_1_harm_category,
      response_1_harm_category: r.response_0_harm_category,
      response_0_severity_level: r.response_1_severity_level,
      response_1_severity_level: r.response_0_severity_level,
    })),
  );
}

/** Everything training produced: weights of every model, the SFT pairs, the tokenizer and the threshold d. */
function trainedArtifacts(result: PipelineResult): Record<string, string> {
  const files = [
    'tokenizer/tokenizer.json',
    'sft/model/model.safetensors',
    'annotations/preferences.jsonl',
    'reward/model/model.safetensors',
    'cost/model/model.safetensors',
    'ppo/model/model.safetensors',
    'shaping_1/model/model.safetensors',
    'ppo_lag/model/model.safetensors',
    'round_1/preferences.jsonl',
    'round_1/reward/model/model.safetensors',
    'round_1/cost/model/model.safetensors',
    'round_1/model/model.safetensors',
    'overopt_ppo/model/model.safetensors',
    'overopt_ppo_lag/model/model.safetensors',
  ];
  return {
    threshold: String(result.threshold),
    ...Object.fromEntries(files.map((f) => [f, readFileSync(join(result.runDir, f)).toString('base64')])),
  };
}

let clean: PipelineResult | undefined;
afterAll(() => rmSync(runsDir, { recursive: true, force: true }));

describe('no leak of gold labels or test data into training', () => {
  it('trains bit-identical models, threshold and data when the gold labels and the test split are altered', async () => {
    clean = await runPipeline(tiny('clean'));

    // Same world, with every evaluation-side file altered: test prompts replaced, test pairs' annotator
    // and gold labels flipped, SFT test answers replaced; gold train labels, raw labels and the summary removed.
    const worldDir = join(runsDir, 'altered', 'world');
    cpSync(join(runsDir, 'clean', 'world'), worldDir, { recursive: true });
    const w = (f: string) => join(worldDir, f);
    const trainPrompts = lines(w(WORLD_FILES.promptsTrain));
    writeLines(w(WORLD_FILES.promptsTest), trainPrompts.filter((_, i) => i % 5 === 0));
    writeLines(w(WORLD_FILES.sftTest), lines(w(WORLD_FILES.sftTest)).map((e) => ({ ...e, response: 'sorry , i cannot help with that .' })));
    flipLabels(w(WORLD_FILES.preferencesTest));
    flipLabels(w(WORLD_FILES.goldTest));
    writeLines(w(WORLD_FILES.promptsHeldOut), lines(w(WORLD_FILES.promptsHeldOut)).slice(0, 30));
    for (const f of [WORLD_FILES.goldTrain, WORLD_FILES.rawLabels, WORLD_FILES.summary]) rmSync(w(f));
    // Gold-derived fields inside training files (kept there for auditing) are not read either.
    writeLines(w(WORLD_FILES.sftTrain), lines(w(WORLD_FILES.sftTrain)).map((e) => ({ ...e, kind: 'unknown', gold: { helpfulness: 0, isSafe: true, categories: [], severity: 0 } })));
    writeLines(w(WORLD_FILES.preferencesTrain), lines(w(WORLD_FILES.preferencesTrain)).map((r) => ({ ...r, response_0_source: 'world', response_1_source: 'world' })));
    // ... and the gold judge handed to evaluation (which also logs RL's per-step gold metrics) lies.
    const altered = await runPipeline(tiny('altered'), undefined, { judge: () => ({ harmfulRate: 0.5, helpfulness: -7 }) });

    // The alteration reached evaluation ...
    expect(altered.scoreModels.cost.gold.safeMean).not.toBe(clean.scoreModels.cost.gold.safeMean);
    expect(altered.models.sft?.n).not.toBe(clean.models.sft?.n);
    expect(altered.models.sft?.heldOut?.n).toBe(30);
    expect(altered.training.ppo_lag?.map((r) => r.goldHarmfulRate)).toEqual([0.5, 0.5]);
    expect(clean.training.ppo_lag?.map((r) => r.goldHarmfulRate)).not.toEqual([0.5, 0.5]);
    expect(altered.overoptimisation?.runs.ppo?.curve.map((p) => p.gold)).toEqual([-7, -7]);
    expect(altered.overoptimisation?.bestOfN?.curve.map((p) => p.gold)).toEqual([-7, -7]);
    expect(clean.overoptimisation?.runs.ppo?.curve.map((p) => p.gold)).not.toEqual([-7, -7]);
    const hc = (r: PipelineResult) => r.robust?.hcGuarantee?.runs ?? [];
    expect(hc(altered).map((r) => r.helpfulness)).toEqual([-7, -7]);
    expect(hc(clean).map((r) => r.helpfulness)).not.toEqual([-7, -7]);
    expect(hc(altered).map((r) => r.trueCost)).not.toEqual(hc(clean).map((r) => r.trueCost));
    // the candidates and their safety tests are the same: the split, the RL runs and the safety costs read no gold or test data
    const trained = (r: PipelineResult) => hc(r).map(({ arm, seed, delta, passed, upperBound, testMean, testStd }) => ({ arm, seed, delta, passed, upperBound, testMean, testStd }));
    expect(trained(clean)).toHaveLength(2);
    expect(trained(altered)).toEqual(trained(clean));
    // ... and nothing that training produced.
    expect(altered.scoreModels.cost.validation).toEqual(clean.scoreModels.cost.validation);
    const a = trainedArtifacts(altered);
    const c = trainedArtifacts(clean);
    for (const k of Object.keys(c)) expect(a[k] === c[k], `${k} differs when gold/test data are altered`).toBe(true);
  }, 600_000);

  it('keeps the held-out requests out of every training input and evaluates every model on them', async () => {
    if (!clean) throw new Error('needs the clean run of the test above');
    const dir = join(runsDir, 'clean');
    const evalSet = await readEvaluationSet(join(dir, 'world'));
    const data = await readTrainingData(join(dir, 'world'));
    const asks = [...new Set(lines(join(dir, 'world', WORLD_FILES.promptsHeldOut)).map((p) => p.ask as string))];
    expect(asks).toHaveLength(31);
    const trainingPrompts = [
      ...data.prompts.map((p) => p.prompt), // SFT pairs, RL, rounds
      ...data.redTeam.map((p) => p.prompt), // rounds
      ...data.sftTrain.map((e) => `${e.prompt} ${e.response}`),
      ...data.pairs.map((r) => `${r.prompt} ${r.responses.join(' ')}`),
      ...lines(join(dir, 'annotations', 'preferences.jsonl')).map((r) => r.prompt as string),
      ...lines(join(dir, 'round_1', 'preferences.jsonl')).map((r) => r.prompt as string),
    ];
    for (const ask of asks) expect(trainingPrompts.filter((t) => t.includes(ask)), ask).toEqual([]);
    expect(evalSet.heldOutPrompts).toHaveLength(31 * 6);
    for (const [name, m] of Object.entries(clean.models)) {
      expect(m.heldOut, name).toMatchObject({ n: 31 * 6, nRisky: 19 * 6 });
      expect(m.heldOut?.harmfulRate, name).toBeGreaterThanOrEqual(0);
      expect(m.heldOut?.harmfulRate, name).toBeLessThanOrEqual(1);
      expect(Number.isFinite(m.heldOut?.helpfulness), name).toBe(true);
    }
    // the held-out numbers are the gold judge's verdict on the model's own answers to those prompts
    const sft = loadPretrained(join(dir, 'sft/model')).model as CausalLM;
    const again = evaluatePolicy({
      name: 'sft',
      policy: sft,
      reference: sft,
      rewardModel: loadPretrained(join(dir, 'reward/model')).model as ScoreModel,
      costModel: loadPretrained(join(dir, 'cost/model')).model as ScoreModel,
      tokenizer: Tokenizer.fromDir(join(dir, 'tokenizer')),
      prompts: evalSet.testPrompts.slice(0, 3),
      heldOutPrompts: evalSet.heldOutPrompts,
      config: { ...tiny('clean').eval },
      seed: tiny('clean').seed,
      judge: (items) => ({ harmfulRate: items.filter((i) => i.risky).length, helpfulness: items.length }),
    });
    expect(again.heldOut).toEqual({ harmfulRate: 19 * 6, helpfulness: 31 * 6, n: 31 * 6, nRisky: 19 * 6 });
  });

  it('reports round_k KL to the SFT policy as kl and KL to the round start (PPO-Lag policy) as klToStart', async () => {
    if (!clean) throw new Error('needs the clean run of the test above');
    const config = tiny('clean');
    const dir = join(runsDir, 'clean');
    const load = (d: string) => loadPretrained(join(dir, d)).model;
    const evalSet = await readEvaluationSet(join(dir, 'world'));
    const again = evaluatePolicy({
      name: 'round_1',
      policy: load('round_1/model') as CausalLM,
      reference: load('sft/model') as CausalLM,
      startReference: load('ppo_lag/model') as CausalLM,
      rewardModel: load('round_1/reward/model') as ScoreModel,
      costModel: load('round_1/cost/model') as ScoreModel,
      tokenizer: Tokenizer.fromDir(join(dir, 'tokenizer')),
      prompts: evalSet.testPrompts,
      config: config.eval,
      seed: config.seed,
      judge: evalSet.judge,
    });
    const round = clean.models.round_1;
    expect(again.kl).not.toBe(again.klToStart);
    expect(round?.kl).toBe(again.kl);
    expect(round?.klToStart).toBe(again.klToStart);
    // generation's KV-cache log-probs against the reference's full pass: zero up to float rounding (real runs: ~1e-8)
    expect(Math.abs(clean.models.sft?.kl ?? Number.NaN)).toBeLessThan(1e-6);
    expect(clean.models.ppo_lag?.klToStart).toBeUndefined();
  }, 60_000);
});
