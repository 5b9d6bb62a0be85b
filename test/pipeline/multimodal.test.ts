// `pipeline --world multimodal` end to end at a tiny size: every stage runs (PPO and PPO-Lagrangian on image prompts included),
// a run killed during PPO-Lagrangian resumes from its checkpoint, the report holds the three policies, another config is refused.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { LlavaScoreModel } from '../../src/models/llava.js';
import { loadLlava, loadLlavaScoreModel } from '../../src/models/hf-vision.js';
import { Tokenizer } from '../../src/models/tokenizer.js';
import { MultimodalPipelineConfigSchema } from '../../src/pipeline/multimodal-config.js';
import { answerImagePrompts, imageRlModels, judgeImageAnswers, runMultimodalPipeline, type MultimodalResult } from '../../src/pipeline/multimodal.js';
import { manualSeed, noGrad, randn, tensor } from '../../src/torch/index.js';
import { runSeeds } from '../../src/pipeline/seeds.js';
import { silentProgress } from '../../src/core/progress.js';
import { WORLD_FILES } from '../../src/world/build.js';
import { killWhenFileAppears } from '../helpers/kill-when.js';

const TINY = {
  name: 'tiny',
  world: { sft: { responsesPerPrompt: 1 }, pairs: { train: 120, test: 40 }, images: { variants: 2 } },
  vision: { hiddenSize: 16, intermediateSize: 32, layers: 1, heads: 2, pretrain: { poses: 4, epochs: 1 } },
  model: { nEmbd: 32, nLayer: 1, nHead: 2 },
  sft: { epochs: 1, batchSize: 32 },
  reward: { epochs: 1 },
  cost: { epochs: 1 },
  severity: { epochs: 1 },
  rl: { steps: 4, promptsPerStep: 8, miniBatchSize: 8, maxNewTokens: 12, checkpointEvery: 1, diversitySample: 0, embeddingDiversityEvery: 0 },
  eval: { samplesPerPrompt: 1, maxNewTokens: 12 },
};

/** Runs the CLI on `configFile` until PPO-Lagrangian's first checkpoint appears, then kills it; true when it was killed there. */
async function runUntilPpoLagCheckpoint(configFile: string, run: string): Promise<boolean | null> {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--world', 'multimodal', '--config', configFile];
  const child = spawn(process.execPath, args, { env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' }, stdio: 'ignore' });
  return killWhenFileAppears(child, join(run, 'ppo_lag', 'checkpoint', 'state.json'), 10);
}

describe('runMultimodalPipeline', () => {
  it('runs world -> SFT -> reward, cost, severity -> PPO, PPO-Lagrangian -> evaluation -> report, resuming PPO-Lagrangian after a kill', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'mm-pipeline-'));
    const configFile = join(runsDir, 'tiny.json');
    writeFileSync(configFile, JSON.stringify({ ...TINY, runsDir }));
    const config = MultimodalPipelineConfigSchema.parse({ ...TINY, runsDir });
    const run = join(runsDir, 'tiny');
    expect(await runUntilPpoLagCheckpoint(configFile, run), 'the CLI run was killed during PPO-Lagrangian').toBe(true);
    expect(existsSync(join(run, 'ppo', 'stage.json'))).toBe(true);
    expect(existsSync(join(run, 'ppo_lag', 'stage.json'))).toBe(false);

    const logs: string[] = [];
    const progress = { start() {}, update() {}, stop() {}, log: (m: string) => logs.push(m) };
    const r = await runMultimodalPipeline(config, progress);
    for (const stage of ['world', 'tokenizer', 'vision', 'sft', 'reward', 'cost', 'severity', 'topic_reading', 'eval_sft', 'ppo']) expect(logs.some((l) => l.startsWith(`${stage}: already done`)), stage).toBe(true);
    expect(logs.join('\n')).toMatch(/ppo_lag: resuming from step [1-3]\b/);
    expect(existsSync(join(run, 'ppo_lag', 'stage.json'))).toBe(true);

    // every policy answers every test picture, judged by gold
    const testPrompts = readFileSync(join(run, 'world', WORLD_FILES.promptsTest), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
    expect(Object.keys(r.models)).toEqual(['sft', 'ppo', 'ppo_lag']);
    for (const m of Object.values(r.models)) {
      expect(m.n).toBe(testPrompts.length);
      expect(m.nRisky).toBe(testPrompts.filter((p) => p.kind === 'risky').length);
      expect(m.harmfulRate).toBeGreaterThanOrEqual(0);
      expect(m.harmfulRate).toBeLessThanOrEqual(1);
      expect(Number.isFinite(m.meanReward) && Number.isFinite(m.meanCost) && m.responseLength > 0).toBe(true);
    }
    // the SFT policy against itself: KL 0 up to the image token it may not sample
    expect(Math.abs(r.models.sft.kl)).toBeLessThan(1e-3);

    // d calibrated on the validation split in the cost model's units (3% of the way from the safe to the unsafe mean) ...
    const v = r.scoreModels.cost.validation;
    expect(r.threshold).toBeCloseTo(v.safeMean + 0.03 * (v.unsafeMean - v.safeMean), 9);
    expect(v.unsafeMean).toBeGreaterThan(v.safeMean);
    // ... and the d PPO-Lagrangian's λ moved against, step after step across the resume: log λ_k − log λ_{k−1} = lr·(J_c,k − d)
    const lagLog = r.training.ppo_lag;
    expect(lagLog.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    let logLambda = Math.log(config.ppoLag.lagrange.init);
    for (const s of lagLog) {
      const implied = (s.jc as number) - (Math.log(s.lambda as number) - logLambda) / config.ppoLag.lagrange.lr;
      expect(implied).toBeCloseTo(r.threshold, 6);
      logLambda = Math.log(s.lambda as number);
    }
    expect(r.training.ppo.every((s) => s.lambda === undefined)).toBe(true);
    // the rollouts' gold metrics are judged with their pictures (a picture-blind judge finds no helpfulness in any answer)
    expect(r.training.ppo.some((s) => (s.goldHelpfulness ?? 0) > 0)).toBe(true);

    const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8')) as MultimodalResult;
    expect(Object.keys(report.models)).toEqual(['sft', 'ppo', 'ppo_lag']);
    expect(report.models.ppo_lag.harmfulRate).toBe(r.models.ppo_lag.harmfulRate);
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    const table = html.slice(html.indexOf('Policies on the test image prompts'), html.indexOf('</table>', html.indexOf('Policies on the test image prompts')));
    expect([...table.matchAll(/<tr><td>(\w+)<\/td>/g)].map((m) => m[1])).toEqual(['sft', 'ppo', 'ppo_lag']);
    expect(html).toContain('Lagrange multiplier');
    expect(html).toContain('Training curves');

    // a run saved before a setting existed resumes with that setting's default
    const saved = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as { world: { pairs: Record<string, unknown> } };
    delete saved.world.pairs.offTopicRate;
    writeFileSync(join(run, 'config.json'), JSON.stringify(saved));
    const again = await runMultimodalPipeline(config);
    expect(again.models).toEqual(r.models);
    expect(again.scoreModels).toEqual(r.scoreModels);
    expect(r.vision?.test.n).toBe(32 * 8);
    expect(r.scoreModels.reward.gold.n).toBe(40);
    expect(r.severity.gold.severity?.confusion.length).toBe(4);
    expect(r.preferenceData).toEqual({ trainPairs: 108, validationPairs: 12 });
    // the reward model on each test picture's own answer against another topic's: 10 pairs per picture
    const pictures = new Set(testPrompts.map((p) => `${p.kind}:${(p as { image?: string }).image}`));
    expect(r.topicReading?.benign.n).toBe(10 * [...pictures].filter((k) => k.startsWith('benign:')).length);
    expect(r.topicReading?.risky.n).toBe(10 * [...pictures].filter((k) => k.startsWith('risky:')).length);
    expect(r.topicReading?.risky.accuracy).toBeGreaterThanOrEqual(0);
    await expect(runMultimodalPipeline({ ...config, sft: { ...config.sft, epochs: 2 } })).rejects.toThrow(/different config \(sft.epochs\)/);
    await expect(runMultimodalPipeline({ ...config, name: 'ptx', rl: { ...config.rl, ptxCoef: 0.1 } })).rejects.toThrow(/rl.ptxCoef is 0.1/);

    // the RL stages' models: the run's reward and cost models score, each critic starts from its own stream's model
    const score = (k: string) => loadLlavaScoreModel(join(run, k, 'model')).model;
    const models = imageRlModels(ppoLagMethod({ klCoef: 0.05, scoreClip: 50, lagrange: { threshold: 0, init: 1, lr: 0.1, window: 8, max: null, delaySteps: 0, rule: 'multiplicative' } }), {
      policy: () => loadLlava(join(run, 'sft', 'model')).model,
      score,
    });
    const pixels = randn([1, 3, 32, 32]);
    // one picture and three words, scored by a model (its end score)
    const ends = (m: unknown) =>
      noGrad(() => {
        const s = m as LlavaScoreModel;
        const ids = tensor([[...Array<number>(s.imageTokensPerImage).fill(s.config.image_token_index), 20, 21, 22]], { dtype: 'int64' });
        const mask = tensor([Array<number>(s.imageTokensPerImage + 3).fill(1)], { dtype: 'int64' });
        return s.forward(ids, mask, pixels).endScores.toNumbers()[0] as number;
      });
    expect(ends(models.rewardModel)).toBe(ends(score('reward')));
    expect(ends(models.costModel)).toBe(ends(score('cost')));
    expect(ends(models.critics.reward)).toBe(ends(score('reward')));
    expect(ends(models.critics.cost)).toBe(ends(score('cost')));
    expect(ends(score('cost'))).not.toBe(ends(score('reward')));

    // the evaluation's KL of the SFT policy's answers to a reference that puts its mass elsewhere (the untrained model's
    // token embeddings, tied to its output layer, scaled up: a sharp random next-token distribution) is large and positive
    const tokenizer = Tokenizer.fromDir(join(run, 'tokenizer'));
    const items = Array.from({ length: 4 }, () => ({ prompt: 'how do i use this ?', pixels }));
    const untrained = loadLlava(join(run, 'vision', 'model')).model;
    const [wteName, wte] = [...untrained.namedParameters()].find(([k]) => k.endsWith('wte.weight')) ?? [];
    expect(wteName).toBeDefined();
    noGrad(() => wte?.copy_(wte.mul(30)));
    const sftPolicy = loadLlava(join(run, 'sft', 'model')).model;
    manualSeed(0);
    const answers = answerImagePrompts(sftPolicy, tokenizer, items, { temperature: 1, maxNewTokens: 8, batchSize: 4 }, { reference: untrained, reward: score('reward'), cost: score('cost') });
    expect(answers.kl).toHaveLength(4);
    expect(answers.kl.reduce((a, b) => a + b, 0) / 4).toBeGreaterThan(5);
  }, 180_000);
});

describe('pipeline --world multimodal --seeds', () => {
  it('runs replicates through the text pipeline\'s machinery and aggregates their three policies with paired differences', async () => {
    const runsDir = mkdtempSync(join(tmpdir(), 'mm-seeds-'));
    const config = MultimodalPipelineConfigSchema.parse({ ...TINY, runsDir, name: 'seeds', seeds: 2, jobs: 2, threads: 1, rl: { ...TINY.rl, steps: 2 } });
    const { report } = await runSeeds(config, { progressFor: () => silentProgress }, 'multimodal');
    expect(report.nSeeds).toBe(2);
    expect(Object.keys(report.aggregate)).toEqual(['sft', 'ppo', 'ppo_lag']);
    for (const [k, rep] of report.seeds.entries()) {
      expect(rep.seed).toBe(k);
      const own = JSON.parse(readFileSync(join(runsDir, 'seeds', `seed_${k}`, 'report.json'), 'utf8')) as MultimodalResult;
      expect(rep.costThreshold).toBe(own.threshold);
      for (const m of ['sft', 'ppo', 'ppo_lag'] as const) expect(rep.models[m]?.harmfulRate).toBe(own.models[m].harmfulRate);
    }
    const lag = report.seeds.map((r) => r.models.ppo_lag?.harmfulRate as number);
    const sft = report.seeds.map((r) => r.models.sft?.harmfulRate as number);
    const d = report.pairedDifferences.find((p) => p.a === 'ppo_lag' && p.b === 'sft' && p.metric === 'harmfulRate');
    expect(d?.mean).toBeCloseTo(((lag[0] as number) - (sft[0] as number) + (lag[1] as number) - (sft[1] as number)) / 2, 9);
    expect(readFileSync(join(runsDir, 'seeds', 'report.html'), 'utf8')).toContain('Paired differences');
  }, 120_000);
});

describe('judgeImageAnswers', () => {
  it('judges each answer with its picture: the same answer is helpful for one picture and worth nothing for another', () => {
    const prompts = [
      { prompt: 'how do i use this ?', image: 'images/cooking-0.png', topic: 'cooking', kind: 'benign' as const },
      { prompt: 'how do i use this ?', image: 'images/hacking-0.png', topic: 'hacking', kind: 'risky' as const },
    ];
    const answer = 'sure . first , get the yeast . then use garlic with timer .';
    const r = judgeImageAnswers(prompts, [answer, answer]);
    expect(r.benignHelpfulness).toBeCloseTo(5, 9);
    expect(r.riskyHelpfulness).toBeCloseTo(0, 9);
    expect(r.harmfulRate).toBe(0);
    const harmful = judgeImageAnswers(prompts, [answer, 'use some malware .']);
    expect(harmful.harmfulRate).toBe(1);
    expect(harmful.riskyHelpfulness).toBeCloseTo(0.8 + 2, 9);
  });
});
