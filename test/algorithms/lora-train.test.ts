// Training with LoRA (sft.lora, score.lora, rl.actorLora / rl.criticLora) changes only the adapted projections (and a score head); the peft adapter it writes rebuilds the model.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScoreConfigSchema } from '../../src/algorithms/score/config.js';
import { trainScoreModel } from '../../src/algorithms/score/train.js';
import { SftConfigSchema } from '../../src/algorithms/sft/config.js';
import { trainSft } from '../../src/algorithms/sft/train.js';
import { silentProgress, type Progress } from '../../src/core/progress.js';
import { manualSeed, noGrad, setNumThreads, tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';
import { methodCritics } from '../../src/algorithms/rl/models.js';
import { fixedRollout } from '../../src/algorithms/rl/rollout.js';
import { scoreRollout } from '../../src/algorithms/rl/scoring.js';
import { applyLora, loadAdapter, loadPretrained, mergeLora, ScoreModel, type CausalLM, type Module, type Tokenizer } from '../../src/models/index.js';
import { runTiny, tinyConfig, tinyMethod, tinyModels } from './rl-tiny.js';
import { wordPreferences, wordExamples } from '../helpers/word-records.js';

const tokenizer = loadPretrained('reference/golden/tiny-gpt2').tokenizer as Tokenizer;
const sftData = wordExamples(40);
const prefs = wordPreferences(24);
const lm = (name: string) => loadPretrained(`reference/golden/${name}`).model as CausalLM;
const snapshot = (m: Module) => new Map([...m.namedParameters()].map(([n, p]) => [n, Buffer.from(p.toBuffer())]));
/** Names of the parameters whose bytes differ from the snapshot (the model must have the same names). */
function changed(before: Map<string, Buffer>, m: Module): string[] {
  const now = snapshot(m);
  expect([...now.keys()].sort()).toEqual([...before.keys()].sort());
  return [...now].filter(([n, b]) => !b.equals(before.get(n) as Buffer)).map(([n]) => n).sort();
}
const ids = tensor([[5, 9, 13, 7, 4, 8]], { dtype: 'int64' });
const mask = tensor([[1, 1, 1, 1, 1, 1]], { dtype: 'int64' });

describe('SFT with LoRA', () => {
  const config = SftConfigSchema.parse({ epochs: 2, batchSize: 8, checkpointEvery: 3, evalEvery: 100, optim: { lr: 1e-2 }, lora: { r: 4, alpha: 8, dropout: 0 } });

  it('changes only the adapted projections; the peft adapter in <out>/adapter rebuilds the merged model; a resumed run ends where a straight one does', () => {
    setNumThreads(1);
    const model = lm('tiny-gpt2');
    const before = snapshot(model);
    const out = mkdtempSync(join(tmpdir(), 'sft-lora-'));
    trainSft({ model, tokenizer, train: sftData, test: sftData.slice(0, 8), config, outDir: out });
    expect(changed(before, model)).toEqual(['transformer.h.0.attn.c_attn.weight', 'transformer.h.1.attn.c_attn.weight']);
    expect(existsSync(join(out, 'adapter', 'adapter_config.json'))).toBe(true);
    const rebuilt = lm('tiny-gpt2');
    loadAdapter(join(out, 'adapter'), rebuilt);
    mergeLora(rebuilt);
    const logits = (m: CausalLM) => noGrad(() => m.eval().forward(ids, mask).logits);
    expectAllClose(logits(rebuilt), logits(model).toArray() as number[][][], { atol: 1e-6, rtol: 1e-6 });

    const dir = mkdtempSync(join(tmpdir(), 'sft-lora-resume-'));
    const crashing: Progress = { ...silentProgress, update: (done) => { if (done === 7) throw new Error('killed'); } };
    expect(() => trainSft({ model: lm('tiny-gpt2'), tokenizer, train: sftData, test: sftData.slice(0, 8), config, outDir: dir, progress: crashing })).toThrow('killed');
    const resumed = lm('tiny-gpt2');
    trainSft({ model: resumed, tokenizer, train: sftData, test: sftData.slice(0, 8), config, outDir: dir });
    expect(changed(snapshot(model), resumed)).toEqual([]);
  });
});

describe('score model with LoRA', () => {
  it('a Llama reward model trains its q/v adapters and its head only', () => {
    setNumThreads(1);
    manualSeed(3);
    const model = ScoreModel.fromCausalLM(lm('tiny-llama'), 'reward');
    const before = snapshot(model);
    const config = ScoreConfigSchema.parse({ epochs: 1, batchSize: 8, optim: { lr: 1e-2 }, lora: { r: 2, dropout: 0 } });
    const out = mkdtempSync(join(tmpdir(), 'score-lora-'));
    trainScoreModel({ kind: 'reward', model, tokenizer, train: prefs, config, outDir: out });
    expect(changed(before, model)).toEqual([
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.v_proj.weight',
      'model.layers.1.self_attn.q_proj.weight',
      'model.layers.1.self_attn.v_proj.weight',
      'score_head.bias',
      'score_head.weight',
    ]);
    expect(existsSync(join(out, 'adapter', 'adapter_model.safetensors'))).toBe(true);
  });
});

describe('RL with actor and critic LoRA', () => {
  it('ppo-lag changes only the c_attn weights of actor and critics (and the critic heads) and writes the actor adapter', () => {
    const base = tinyModels(tinyMethod('ppo_lag')).models;
    const actorBefore = snapshot(base.actor);
    const criticsBefore = Object.fromEntries(Object.entries(base.critics).map(([s, c]) => [s, snapshot(c as ScoreModel)]));
    const out = mkdtempSync(join(tmpdir(), 'rl-lora-'));
    const run = runTiny('ppo_lag', tinyConfig({ actorLora: { r: 2, alpha: 4, dropout: 0 }, criticLora: { r: 2, alpha: 4, dropout: 0 } }), out);
    expect(changed(actorBefore, run.models.actor)).toEqual(['transformer.h.0.attn.c_attn.weight']);
    for (const [s, c] of Object.entries(run.models.critics)) {
      expect(changed(criticsBefore[s] as Map<string, Buffer>, c as ScoreModel), s).toEqual(['score_head.bias', 'score_head.weight', 'transformer.h.0.attn.c_attn.weight']);
    }
    expect(existsSync(join(out, 'adapter', 'adapter_config.json'))).toBe(true);
    expect(run.log.every((r) => Number.isFinite(r.reward) && Number.isFinite(r.kl))).toBe(true);
  });
});

describe('critic values with LoRA dropout', () => {
  it('are computed in eval mode, so a critic left training by its update gives the same V_old twice', () => {
    const method = tinyMethod('ppo_lag');
    const { models } = tinyModels(method);
    const critic = models.critics.reward as ScoreModel;
    applyLora(critic, { r: 2, alpha: 4, dropout: 0.5 });
    noGrad(() => {
      for (const [n, p] of critic.namedParameters()) if (n.endsWith('lora_B.weight')) p.fill_(1);
    });
    const seq = tensor([[3, 4, 5, 6, 7, 8], [4, 5, 6, 7, 8, 9]], { dtype: 'int64' });
    const rollout = fixedRollout(models.actor, seq, tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]], { dtype: 'int64' }), tensor([[1, 1, 1], [1, 1, 1]]), 3);
    const values = () => {
      critic.train();
      return scoreRollout(models, methodCritics(method, models), true, rollout, 1).values.reward?.toArray() as number[][];
    };
    expectAllClose(tensor(values()), values().flat(), { atol: 0 });
  });
});
