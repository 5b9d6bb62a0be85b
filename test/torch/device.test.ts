// Devices without a GPU: the `--device` checks and their errors, and every tensor made inside models, losses, RL, generation and the trainers following its inputs' device rather than the default one.
//
// How the second half can fail on a CPU-only machine: the models and data stay on the CPU while the *default*
// device is libtorch's shape-only `meta` device. A tensor made inside (a mask, a position range, a padding block,
// advantages from the host) that does not follow its inputs lands on meta, and the first op mixing it with a CPU
// tensor throws "Expected all tensors to be on the same device" — as it would mix CPU and CUDA on a GPU. Values are
// real (everything computes on the CPU), so runs are also compared with the same run under the CPU default.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DpoConfigSchema } from '../../src/algorithms/dpo/config.js';
import { trainDpo } from '../../src/algorithms/dpo/train.js';
import { trainRl } from '../../src/algorithms/rl/train.js';
import { ScoreConfigSchema } from '../../src/algorithms/score/config.js';
import { trainScoreModel } from '../../src/algorithms/score/train.js';
import { SftConfigSchema } from '../../src/algorithms/sft/config.js';
import { trainSft } from '../../src/algorithms/sft/train.js';
import { checkLocalDevices, useDevice } from '../../src/config/device.js';
import { combineAdvantages } from '../../src/rl/advantage.js';
import { sampleRows } from '../../src/serve/sampling.js';
import { createCausalLM, generate, loadPretrained, parseModelConfig, ScoreModel, type CausalLM, type Tokenizer } from '../../src/models/index.js';
import {
  AdamW,
  cudaAvailable,
  defaultDevice,
  DeviceError,
  manualSeed,
  noGrad,
  resolveDevice,
  setDefaultDevice,
  setNumThreads,
  tensor,
  zeros,
  zerosLike,
  type Device,
  type Tensor,
} from '../../src/torch/index.js';
import { native } from '../../src/torch/native.js';
import { wordExamples, wordPreferences } from '../helpers/word-records.js';
import { paramHash, tinyConfig, tinyJudge, tinyMethod, tinyModels, tinyPrompts, tinyPtx, type TinyMethod } from '../algorithms/rl-tiny.js';

afterEach(() => setDefaultDevice('cpu'));

const NO_CUDA = 'this libtorch was built without CUDA (torch::cuda::is_available() is false); set LIBTORCH to a CUDA build, see README';

describe('device names and the checks of --device', () => {
  it('cpu (and meta) always resolve; malformed names are refused with what is expected', () => {
    expect(resolveDevice('cpu')).toBe('cpu');
    expect(resolveDevice('meta')).toBe('meta');
    for (const bad of ['gpu', 'cuda:', 'cuda:x', 'cpu:0', 'CUDA']) expect(() => resolveDevice(bad)).toThrow(/expected cpu, cuda or cuda:k/);
  });

  it.runIf(!cudaAvailable())('without a usable GPU, cuda is refused with what to do, naming the device each local rank would take', () => {
    const what = native.hasCuda ? /has CUDA but sees no GPU/ : NO_CUDA;
    expect(() => resolveDevice('cuda:0')).toThrow(native.hasCuda ? what : `--device cuda:0: ${NO_CUDA}`);
    expect(() => resolveDevice('cuda')).toThrow(native.hasCuda ? what : `--device cuda (cuda:0): ${NO_CUDA}`);
    expect(() => useDevice('cuda', { LOCAL_RANK: '1' })).toThrow(native.hasCuda ? what : `--device cuda (cuda:1 for local rank 1): ${NO_CUDA}`);
    expect(() => checkLocalDevices('cuda', 2)).toThrow(DeviceError);
    expect(defaultDevice()).toBe('cpu'); // a refused device changes nothing
  });

  it.runIf(cudaAvailable())('with GPUs: cuda is cuda:LOCAL_RANK, an index past the last device is refused', () => {
    const n = native.cudaDeviceCount();
    expect(useDevice('cuda', { LOCAL_RANK: String(n - 1) })).toBe(`cuda:${n - 1}`);
    expect(() => resolveDevice(`cuda:${n}`)).toThrow(`--device cuda:${n}: libtorch sees ${n} CUDA device`);
  });

  it('one GPU cannot serve several local processes', () => {
    expect(() => checkLocalDevices('cuda:1', 2)).toThrow('--device cuda:1 with 2 processes on this machine: each needs its own GPU; give --device cuda (local rank r takes cuda:r)');
    expect(() => useDevice('cuda:0', { LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '2' })).toThrow(/each needs its own GPU/);
    expect(() => checkLocalDevices('cpu', 4)).not.toThrow();
  });

  it('useDevice sets the default device of creation functions; *Like and explicit devices follow their own', () => {
    expect(useDevice('cpu')).toBe('cpu');
    setDefaultDevice('meta');
    expect(defaultDevice()).toBe('meta');
    expect(zeros([2]).device).toBe('meta');
    expect(tensor([1, 2]).device).toBe('meta');
    const onCpu = tensor([1, 2], { device: 'cpu' });
    expect(onCpu.device).toBe('cpu');
    expect(zerosLike(onCpu).device).toBe('cpu');
    expect(onCpu.to('meta').device).toBe('meta');
    setDefaultDevice('cpu');
    expect(zeros([2]).device).toBe('cpu');
  });
});

describe('a model and its optimiser know their device', () => {
  it("parameters made under a default device live there; an optimiser's saved state resumes on its parameters' device", () => {
    setNumThreads(1);
    const config = parseModelConfig({ model_type: 'gpt2', n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16, vocab_size: 12 });
    setDefaultDevice('meta');
    const onMeta = createCausalLM(config);
    setDefaultDevice('cpu');
    expect(onMeta.device).toBe('meta');
    expect(onMeta.parameters().every((p) => p.device === 'meta')).toBe(true);
    // a CPU optimiser's state (as a checkpoint gives it back, on the CPU) loaded into one over meta parameters
    manualSeed(0);
    const onCpu = createCausalLM(config);
    expect(onCpu.device).toBe('cpu');
    const opt = new AdamW(onCpu.parameters(), { lr: 1e-3 });
    onCpu.forward(tensor([[1, 2, 3]], { dtype: 'int64' }), tensor([[1, 1, 1]], { dtype: 'int64' })).logits.sum().backward();
    opt.step();
    const saved = opt.stateDict();
    const metaOpt = new AdamW(onMeta.parameters(), { lr: 1e-3 });
    metaOpt.loadStateDict(saved);
    const devices = new Set(metaOpt.stateDict().params.flatMap((s) => Object.values(s ?? {}).filter((v): v is Tensor => typeof v !== 'number').map((t) => t.device)));
    expect([...devices]).toEqual(['meta']);
  });
});

/** Runs `fn` with `meta` as the default device (models and data stay where they are). */
function underMetaDefault<T>(fn: () => T): T {
  setDefaultDevice('meta');
  try {
    return fn();
  } finally {
    setDefaultDevice('cpu');
  }
}

const tokenizer = loadPretrained('reference/golden/tiny-gpt2').tokenizer as Tokenizer;
const lm = (name: string) => loadPretrained(`reference/golden/${name}`).model as CausalLM;
const outDir = (name: string) => mkdtempSync(join(tmpdir(), `device-${name}-`));

describe('tensors made inside follow their inputs, not the default device', () => {
  it.each(['tiny-gpt2', 'tiny-llama'])('%s: batched sampling (KV cache, shared prompts, top-p, top-k, repetition penalty, rows stopping early) gives the same tokens', (name) => {
    setNumThreads(1);
    const model = lm(name).eval();
    // rows 0 and 2 share a prompt (run once, spread); left padding
    const ids = tensor([[0, 5, 9, 13], [7, 4, 8, 6], [0, 5, 9, 13]], { dtype: 'int64' });
    const mask = ids.ne(0).long();
    const run = () => {
      manualSeed(11);
      const out = noGrad(() => generate(model, ids, mask, { maxNewTokens: 8, temperature: 0.9, topP: 0.8, topK: 6, repetitionPenalty: 1.3, stopTokenIds: [4, 9], padId: 0 }));
      return { sequences: out.sequences.toNumbers(), logProbs: out.logProbs.toNumbers(), device: out.sequences.device };
    };
    const cpu = run();
    const meta = underMetaDefault(run);
    expect(meta.device).toBe('cpu');
    expect(meta.sequences).toEqual(cpu.sequences);
    expect(meta.logProbs).toEqual(cpu.logProbs);
  });

  it('SFT, reward, cost (pairs and labels), ordinal severity and DPO training end with the same weights', () => {
    setNumThreads(1);
    const sftData = wordExamples(12);
    const prefs = wordPreferences(12);
    const labels = prefs.flatMap((r) => r.responses.map((response, i) => ({ prompt: r.prompt, response, isSafe: r.isSafe?.[i] === true, severity: (r.isSafe?.[i] === true ? 0 : 1 + (r.prompt.length % 2)) as 0 | 1 | 2 })));
    const score = (cfg: Record<string, unknown>) => ScoreConfigSchema.parse({ epochs: 1, optim: { lr: 1e-2 }, ...cfg });
    /** Every trainer with its models, built on the CPU under the CPU default; `wrap` runs the training. */
    const trainAll = (wrap: <T>(fn: () => T) => T): string[] => {
      manualSeed(3);
      const models = {
        sft: lm('tiny-gpt2'),
        reward: ScoreModel.fromCausalLM(lm('tiny-llama'), 'reward'),
        cost: ScoreModel.fromCausalLM(lm('tiny-llama'), 'cost'),
        costFromLabels: ScoreModel.fromCausalLM(lm('tiny-gpt2'), 'cost'),
        severity: ScoreModel.fromCausalLM(lm('tiny-gpt2'), 'cost', 3),
        dpo: lm('tiny-gpt2'),
        dpoReference: lm('tiny-gpt2'),
      };
      return wrap(() => {
        manualSeed(4);
        trainSft({ model: models.sft, tokenizer, train: sftData, test: sftData.slice(0, 4), config: SftConfigSchema.parse({ epochs: 1, batchSize: 4, evalEvery: 2, optim: { lr: 1e-2 } }), outDir: outDir('sft') });
        trainScoreModel({ kind: 'reward', model: models.reward, tokenizer, train: prefs, config: score({ batchSize: 6 }), outDir: outDir('reward') });
        trainScoreModel({ kind: 'cost', model: models.cost, tokenizer, train: prefs, config: score({ batchSize: 6 }), outDir: outDir('cost') });
        trainScoreModel({ kind: 'cost', model: models.costFromLabels, tokenizer, train: { labels }, config: score({ batchSize: 8 }), outDir: outDir('cost-labels') });
        trainScoreModel({ kind: 'cost', model: models.severity, tokenizer, train: { labels }, config: score({ batchSize: 8 }), outDir: outDir('severity') });
        trainDpo({ policy: models.dpo, reference: models.dpoReference, tokenizer, train: prefs, config: DpoConfigSchema.parse({ epochs: 1, batchSize: 6, optim: { lr: 1e-3 } }), outDir: outDir('dpo') });
        return Object.values(models).map(paramHash);
      });
    };
    const cpu = trainAll((fn) => fn());
    expect(trainAll(underMetaDefault)).toEqual(cpu);
  });

  it.each(['ppo_lag', 'safe_grpo'] as TinyMethod[])('%s: whole RL steps (rollouts, scoring, GAE or group advantages, λ, PPO updates, PTX) end with the same actor', (name) => {
    const run = (wrap: <T>(fn: () => T) => T): string => {
      const method = tinyMethod(name);
      const { models, tokenizer } = tinyModels(method); // built on the CPU
      // PPO-max's running normalisers on: their normalised scores come back from the host
      const config = tinyConfig({ steps: 2, rewardNormalization: 'affine', costNormalization: 'scale', ...(name === 'safe_grpo' ? { samplesPerPrompt: 2 } : {}) });
      return wrap(() => {
        trainRl({ method, models, tokenizer, prompts: tinyPrompts, ptxData: tinyPtx, config, outDir: outDir(name), judge: tinyJudge });
        return paramHash(models.actor);
      });
    };
    const cpu = run((fn) => fn());
    expect(run(underMetaDefault)).toBe(cpu);
  });
});

describe('pieces no tiny run reaches', () => {
  it("per-row λ (lagrange.perCategory) weights are made on the advantages' device", () => {
    const ar = tensor([[1, 2], [3, 4]]);
    const ac = tensor([[0.5, 0], [1, 1]]);
    const want = combineAdvantages(ar, ac, [1, 3]).toNumbers();
    expect(underMetaDefault(() => combineAdvantages(ar, ac, [1, 3]).toNumbers())).toEqual(want);
  });
});

describe('serving', () => {
  it("the server's per-row sampling (temperature, top-p, greedy rows) makes its tensors on the logits' device", () => {
    const logits = tensor([[0.1, 2, -1, 0.5], [1, 1, 3, 0], [0, 0, 0, 4]]);
    const rows = [{ temperature: 0.7, topP: 0.9 }, { temperature: 0, topP: 1 }, { temperature: 1.3, topP: 1 }];
    const want = sampleRows(logits, rows, [0.3, 0.5, 0.8]);
    expect(underMetaDefault(() => sampleRows(logits, rows, [0.3, 0.5, 0.8]))).toEqual(want);
  });
});

describe('Device type', () => {
  it('a tensor reports its device as a Device', () => {
    const d: Device = tensor([1]).device;
    expect(d).toBe('cpu');
  });
});
