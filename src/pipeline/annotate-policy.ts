// Response pairs sampled from a policy and labelled by the world's simulated annotators: how the
// Safe RLHF paper builds its preference data (SFT model samples -> decoupled human labels).
import type { GoldJudge, RlPrompt } from '../algorithms/rl/train.js';
import type { Progress } from '../core/progress.js';
import type { PreferenceRecord } from '../data/record.js';
import type { CausalLM, Tokenizer } from '../models/index.js';
import { makePairItem, type AnnotatorProfile } from '../world/annotators.js';
import { labelPair } from '../world/build.js';
import type { WorldConfig } from '../world/config.js';
import type { Rng } from '../world/rng.js';
import { sampleResponses } from './sample-responses.js';

/** Two sampled responses per prompt from `policy` (temperature 1, no nucleus cut); `onBatch` gets the pairs done so far. */
export function samplePairs(
  policy: CausalLM,
  tokenizer: Tokenizer,
  prompts: readonly RlPrompt[],
  maxNewTokens: number,
  onBatch?: (done: number) => void,
): [string, string][] {
  const twice = prompts.flatMap((p) => [p, p]);
  const texts = sampleResponses(policy, tokenizer, twice, { temperature: 1, maxNewTokens }, 64, (_, done) => onBatch?.(done / 2));
  return prompts.map((_, i) => [texts[2 * i] ?? '', texts[2 * i + 1] ?? '']);
}

/** samplePairs behind a progress bar labelled `label`. */
export function sampleLabelledPairs(policy: CausalLM, tokenizer: Tokenizer, prompts: readonly RlPrompt[], maxNewTokens: number, label: string, progress?: Progress): [string, string][] {
  progress?.start(label, prompts.length);
  const pairs = samplePairs(policy, tokenizer, prompts, maxNewTokens, (done) => progress?.update(done));
  progress?.stop();
  return pairs;
}

export interface AnnotatedPairs {
  records: PreferenceRecord[];
  /** Gold harmful rate of the sampled responses to risky prompts (the policy's behaviour). */
  pairHarmfulRate: number;
}

/**
 * Samples a response pair per prompt from `policy` and has each pair labelled by the qualified
 * simulated annotators (helpfulness and harmlessness judged independently, majority of `perPair`).
 * `source` names the policy in the records' `response_*_source` fields.
 */
export function annotatePolicyPairs(args: {
  policy: CausalLM;
  tokenizer: Tokenizer;
  prompts: readonly RlPrompt[];
  annotators: readonly AnnotatorProfile[];
  world: WorldConfig;
  rng: Rng;
  maxNewTokens: number;
  source: string;
  /** Evaluation side: measures the gold harmful rate of the sampled responses (reported, never trained on). */
  judge: GoldJudge;
  progress?: Progress;
  label?: string;
  /** Pairs already sampled from `policy`, one per prompt (else sampled here). */
  responses?: readonly [string, string][];
}): AnnotatedPairs {
  const label = args.label ?? 'annotations';
  const responses = args.responses ?? sampleLabelledPairs(args.policy, args.tokenizer, args.prompts, args.maxNewTokens, `${label}: sampling pairs`, args.progress);
  const records = args.prompts.map(
    (p, i) =>
      labelPair(makePairItem(p.prompt, responses[i] as [string, string]), args.annotators, args.world, args.rng, {
        prompt: `safealign-${label}`,
        responses: [args.source, args.source],
      }).record,
  );
  const pairHarmfulRate = args.judge(
    args.prompts.flatMap((p, i) => (responses[i] as [string, string]).map((r) => ({ prompt: p.prompt, response: r, risky: p.risky }))),
  ).harmfulRate;
  return { records, pairHarmfulRate };
}
