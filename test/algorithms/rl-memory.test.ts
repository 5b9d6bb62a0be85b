// The RL step frees what it no longer needs as PyTorch's reference counting would: counted in live native tensors, not in time or RSS.
import { describe, expect, it } from 'vitest';
import { actorStep } from '../../src/algorithms/rl/actor-update.js';
import { createRlContext } from '../../src/algorithms/rl/context.js';
import { criticStep } from '../../src/algorithms/rl/critic-update.js';
import { sampleRollout } from '../../src/algorithms/rl/rollout.js';
import { scoreRollout } from '../../src/algorithms/rl/scoring.js';
import { ScoreModel, applyLora } from '../../src/models/index.js';
import { manualSeed, memoryStats, tidy, zeros, type AdamW } from '../../src/torch/index.js';
import { tinyActor, tinyConfig, tinyMethod, tinyModels, tinyTokenizer } from './rl-tiny.js';

const live = () => memoryStats().liveTensors;

describe('memory of the RL step (live native tensors)', () => {
  it('building a model leaves exactly its parameters alive (no unscaled random draws waiting for the GC)', () => {
    const tokenizer = tinyTokenizer();
    const before = live();
    const actor = tinyActor(tokenizer, 1);
    expect(live() - before).toBe(actor.parameters().length);
    const mid = live();
    const critic = ScoreModel.fromCausalLM(actor, 'critic');
    applyLora(critic, { r: 2, alpha: 4, dropout: 0 });
    expect(live() - mid).toBe(critic.parameters().length);
  });

  it('scoring keeps only its outputs; an actor or critic update keeps nothing once it returns', () => {
    const method = tinyMethod('ppo_lag');
    const { tokenizer, models } = tinyModels(method);
    const config = tinyConfig({ promptsPerStep: 4, miniBatchSize: 4 });
    const ctx = createRlContext(method, models, config, [], tokenizer.padId ?? 0);
    manualSeed(7);
    const prompts = ['tell me the cat', 'how big the dog', 'please help me', 'a red cat runs'].map((p) => tokenizer.encode(p));
    tidy(() => {
      const rollout = sampleRollout(models.actor, prompts, config, { padId: tokenizer.padId ?? 0, eosId: tokenizer.eosId });
      const T = rollout.mask.shape[1] as number;
      const before = live();
      const scores = scoreRollout(ctx.models, ctx.critics, true, rollout, 1);
      // refLogProbs, reward, cost and one value tensor per critic: the models' logits, caches and hidden states are gone
      expect(live() - before).toBe(3 + ctx.critics.length);
      expect(scores.values.reward?.shape).toEqual([4, T]);

      const batch = { sequences: rollout.sequences, attentionMask: rollout.attentionMask, mask: rollout.mask, promptLength: rollout.promptLength };
      const advantages = zeros([4, T]).add(0.5);
      const start = live();
      const actor = actorStep(models.actor, ctx.actorParams, ctx.actorOpt, { ...batch, oldLogProbs: rollout.oldLogProbs, advantages }, [], config, 0, 1);
      expect(Number.isFinite(actor.loss)).toBe(true);
      expect(live()).toBe(start);
      ctx.critics.forEach(([s, critic], i) => {
        const values = scores.values[s];
        if (!values) throw new Error(`no values for ${s}`);
        criticStep(critic, ctx.criticOpts[i] as AdamW, { ...batch, oldValues: values, returns: values.add(1) }, config);
        expect(live()).toBe(start + i + 1); // only the returns made above
      });
    });
  });
});
