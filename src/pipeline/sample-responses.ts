// Text responses of a policy to text prompts, sampled in batches through the RL rollout (the same generation RL trains on).
import { chunks, encodePrompt } from '../algorithms/common/batching.js';
import { sampleRollout, type Rollout } from '../algorithms/rl/rollout.js';
import { rolloutTexts } from '../algorithms/rl/step-log.js';
import type { RlPrompt } from '../algorithms/rl/train.js';
import type { CausalLM, Tokenizer } from '../models/index.js';
import { noGrad, tidy } from '../torch/index.js';

/**
 * One sampled response per item (no nucleus cut; a dialogue's earlier turns rendered by the chat template), `batchSize` items per generation, in item order.
 * `onBatch` sees each batch's rollout inside its tensor scope and without gradient (e.g. to score it),
 * and the number of items done after it.
 */
export function sampleResponses(
  policy: CausalLM,
  tokenizer: Tokenizer,
  items: readonly RlPrompt[],
  /** `raw`: prompts as they are, without the chat template (see formatPrompt). */
  config: { temperature: number; maxNewTokens: number; raw?: boolean },
  batchSize: number,
  onBatch?: (rollout: Rollout, done: number) => void,
): string[] {
  const tokens = { padId: tokenizer.padId ?? 0, eosId: tokenizer.eosId };
  const responses: string[] = [];
  noGrad(() => {
    for (const batch of chunks(items, batchSize)) {
      tidy(() => {
        const prompts = batch.map((p) => encodePrompt(tokenizer, p, { raw: config.raw ?? false }));
        const rollout = sampleRollout(policy, prompts, { ...config, topP: 1 }, tokens);
        responses.push(...rolloutTexts(tokenizer, rollout));
        onBatch?.(rollout, responses.length);
      });
    }
  });
  return responses;
}
