// A-LoL's value estimate V(x) of the reference policy: a linear head on π_ref's frozen last hidden state at the prompt end, fitted by MSE to the rewards of π_ref's own sampled responses.
import { silentProgress, type Progress } from '../../core/progress.js';
import { scoreTexts, type Scorer } from '../../eval/model-responses.js';
import { lastTokenIndex, type CausalLM } from '../../models/index.js';
import type { PromptInput } from '../../models/prompt.js';
import type { Tokenizer } from '../../models/tokenizer.js';
import { sampleResponses } from '../../pipeline/sample-responses.js';
import { AdamW, cat, manualSeed, noGrad, tensor, tidy, zeros, type Tensor } from '../../torch/index.js';
import { Rng } from '../../world/rng.js';
import { chunks, encodePrompt, padForTraining } from '../common/batching.js';
import type { RlPrompt } from '../rl/train.js';
import type { AlolValueConfig } from './config.js';

/** The scores a response's reward is made of: R = r − ν·c (`cost` needed when ν > 0). */
export interface AlolJudges {
  reward: Scorer;
  cost?: Scorer;
  costWeight: number;
}

/** R = r − ν·c of (prompt, response) texts; NaN where a scorer cannot read the prompt. */
export function responseRewards(judges: AlolJudges, items: readonly (PromptInput & { response: string; source?: string })[]): number[] {
  const r = scoreTexts(judges.reward, items).scores;
  if (judges.costWeight === 0) return r;
  if (!judges.cost) throw new Error('A-LoL with costWeight > 0 needs a cost model');
  const c = scoreTexts(judges.cost, items).scores;
  return r.map((x, i) => x - judges.costWeight * (c[i] as number));
}

/** (N, H) features: the reference policy's last hidden state at the last token of each prompt (no gradient). Prompts are cut to the context from the left. */
function promptFeatures(reference: CausalLM, tokenizer: Tokenizer, prompts: readonly PromptInput[], batchSize = 64): Tensor {
  const padId = tokenizer.padId ?? 0;
  const parts: Tensor[] = [];
  noGrad(() => {
    for (const chunk of chunks(prompts, batchSize)) {
      const b = padForTraining(chunk.map((p) => ({ promptIds: encodePrompt(tokenizer, p).slice(-reference.contextLength), responseIds: [] })), padId);
      parts.push(
        tidy(() => {
          const mask = tensor(b.attentionMask, { dtype: 'int64', device: reference.device });
          const { hidden } = reference.backbone.forward(tensor(b.ids, { dtype: 'int64', device: reference.device }), mask);
          return hidden.gather(1, lastTokenIndex(mask).reshape([-1, 1, 1]).expand([-1, 1, hidden.shape[2] as number])).squeeze(1);
        }),
      );
    }
  });
  const out = cat(parts, 0);
  parts.forEach((p) => p.dispose());
  return out;
}

export interface ValueFit {
  /** Prompts sampled and responses scored. */
  prompts: number;
  samples: number;
  /** Mean reward R of the reference policy's samples, and the head's final MSE on them. */
  meanReward: number;
  mse: number;
}

/**
 * Fits V on `config.prompts` of `prompts` (K samples of `reference` each, rewarded by `judges`) and
 * returns V(x) of every prompt in `targets`.
 */
export function estimateValues(args: {
  reference: CausalLM;
  tokenizer: Tokenizer;
  prompts: readonly RlPrompt[];
  targets: readonly PromptInput[];
  judges: AlolJudges;
  config: AlolValueConfig;
  seed: number;
  progress?: Progress;
}): { values: number[]; fit: ValueFit } {
  const { reference, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const room = (p: PromptInput) => encodePrompt(tokenizer, p).length + config.maxNewTokens <= reference.contextLength;
  const chosen = new Rng(args.seed).derive('alol-value-prompts').sample(args.prompts.filter(room), config.prompts);
  if (chosen.length === 0) throw new RangeError(`alol: no prompt leaves room for ${config.maxNewTokens} new tokens in the reference policy's context (${reference.contextLength}) to fit the value head`);
  const items = chosen.flatMap((p) => Array.from({ length: config.samplesPerPrompt }, () => p));
  manualSeed(args.seed);
  reference.eval();
  progress.start('alol value: sample π_ref', items.length);
  const responses = sampleResponses(reference, tokenizer, items, config, config.sampleBatchSize, (_, done) => progress.update(done));
  progress.stop();
  const rewards = responseRewards(args.judges, items.map((p, i) => ({ ...p, response: responses[i] ?? '' })));
  const kept = rewards.flatMap((r, i) => (Number.isFinite(r) ? [i] : []));
  const y = kept.map((i) => rewards[i] as number);
  const meanReward = y.reduce((a, b) => a + b, 0) / y.length;
  return tidy(() => {
    const x = promptFeatures(reference, tokenizer, kept.map((i) => items[i] as RlPrompt));
    const on = { device: x.device };
    const target = tensor(y, on);
    const w = zeros([x.shape[1] as number, 1], { requiresGrad: true, ...on });
    const b = tensor([meanReward], { requiresGrad: true, ...on });
    const opt = new AdamW([w, b], { lr: config.lr, weightDecay: 0 });
    const predict = (f: Tensor) => f.matmul(w).squeeze(1).add(b);
    let mse = NaN;
    for (let s = 0; s < config.steps; s++) {
      mse = tidy(() => {
        opt.zeroGrad();
        const loss = predict(x).sub(target).pow(2).mean();
        loss.backward();
        opt.step();
        return loss.item();
      });
    }
    const values = noGrad(() => predict(promptFeatures(reference, tokenizer, args.targets)).toNumbers());
    return { values, fit: { prompts: chosen.length, samples: y.length, meanReward, mse } };
  });
}
