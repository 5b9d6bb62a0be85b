// The models and settings of one bench/rl-step PPO-Lagrangian step, built from its work file (bench/rl-step and bench/ddp share them).
import { LagrangeSchema } from '../../src/algorithms/ppo-lag/config.js';
import { ppoLagMethod } from '../../src/algorithms/ppo-lag/method.js';
import { RlConfigSchema, type RlConfig } from '../../src/algorithms/rl/config.js';
import { createRlContext, type RlContext } from '../../src/algorithms/rl/context.js';
import { applyLora, createCausalLM, parseModelConfig, ScoreModel } from '../../src/models/index.js';
import { manualSeed, tensor, type Tensor } from '../../src/torch/index.js';
import type { RlStepWork } from './work.js';

export const LORA = { r: 8, alpha: 16, dropout: 0.05 };

/** Forces row r's EOS as its stops[r]-th response token and bans EOS before it: (B, V) logits of step t → logits to sample from. */
export function stopSchedule(stops: readonly number[], eosId: number, vocab: number): (logits: Tensor, t: number) => Tensor {
  const isEos = tensor([Array.from({ length: vocab }, (_, j) => j === eosId)]);
  return (logits, t) => logits.maskedFill(tensor(stops.map((s) => [s - 1 === t])).ne(isEos), -Infinity);
}

/**
 * The six models of the step (actor, reference, reward, cost and two critics: randomly initialised GPT-2s of the
 * work's shape, seed 0), PPO-Lagrangian at the work's batch settings, and its RL context (data-parallel when the
 * process runs under `safealign launch`). With `lora`, adapters on c_attn of the actor and both critics.
 */
export function setupRlStep(work: RlStepWork, lora: boolean): { ctx: RlContext; config: RlConfig; tokens: { padId: number; eosId: number | undefined } } {
  manualSeed(0);
  const actor = createCausalLM(parseModelConfig({ model_type: 'gpt2', tie_word_embeddings: true, ...work.model, eos_token_id: work.eosId, pad_token_id: work.padId }));
  const reference = actor.clone();
  const rewardModel = ScoreModel.fromCausalLM(actor, 'reward');
  const costModel = ScoreModel.fromCausalLM(actor, 'cost');
  const critics = { reward: ScoreModel.fromScoreModel(rewardModel, 'critic'), cost: ScoreModel.fromScoreModel(costModel, 'critic') };
  if (lora) for (const m of [actor, critics.reward, critics.cost]) applyLora(m, LORA);
  const method = ppoLagMethod({ klCoef: work.klCoef, scoreClip: 50, lagrange: { ...LagrangeSchema.parse({}), threshold: 0 } });
  const config = RlConfigSchema.parse({ promptsPerStep: work.prompts.length, maxNewTokens: work.newTokens, miniBatchSize: work.miniBatch, ppoEpochs: work.ppoEpochs });
  const ctx = createRlContext(method, { actor, reference, rewardModel, costModel, critics }, config, [], work.padId);
  return { ctx, config, tokens: { padId: work.padId, eosId: work.stops ? work.eosId : undefined } };
}
