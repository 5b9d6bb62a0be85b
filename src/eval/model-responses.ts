// Samples a model on evaluation prompts (K samples each) and scores every response with the reward and cost models, fitted to their context and counted.
import { chunks, encodePair, encodePrompt, padForTraining, type EncodedPair } from '../algorithms/common/batching.js';
import type { PromptInput, PromptOptions } from '../models/prompt.js';
import { countFit, emptyTruncationStats, fitPair, type TruncationStats } from '../algorithms/common/truncation.js';
import { batchPixels, imageTokensOf, scoreForward } from '../algorithms/common/model-input.js';
import type { RlPrompt } from '../algorithms/rl/train.js';
import { silentProgress, type Progress } from '../core/progress.js';
import type { CausalLM, SequenceScorer, Tokenizer } from '../models/index.js';
import { sampleResponses } from '../pipeline/sample-responses.js';
import { parseVerbalized, pickVerbalized, verbalizedPrompt, type VerbalizedAnswer } from '../models/verbalized.js';
import { manualSeed, noGrad, tensor, tidy } from '../torch/index.js';
import { Rng } from '../world/rng.js';

/** A score model with the tokenizer of its folder and its length budget min(configured, context). */
export interface Scorer {
  model: SequenceScorer;
  tokenizer: Tokenizer;
  maxLength: number;
}

/** A policy to evaluate, with the tokenizer of its folder. */
export interface Policy {
  name: string;
  model: CausalLM;
  tokenizer: Tokenizer;
}

/** One model's responses, in item order (prompt-major, `samples` consecutive items per prompt). */
export interface ModelResponses {
  name: string;
  responses: string[];
  /** Generated tokens per response (EOS included). */
  lengths: number[];
  reward: number[];
  cost: number[];
  /** Scores of the harm classifier, when one is given. */
  classifier?: number[];
  /** What fitting prompt + response to each score model did (response end kept). */
  truncation: { reward: TruncationStats; cost: TruncationStats; classifier?: TruncationStats };
  /** With verbalized sampling: per item the parsed list and the drawn answer, or the problems of its last rejected list. */
  verbalized?: VerbalizedItem[];
}

/** One item under verbalized sampling: the list the response was drawn from, or why no list was accepted (response '', scores NaN). */
export type VerbalizedItem = { answers: VerbalizedAnswer[]; chosen: number; attempts: number } | { problems: string[]; attempts: number };

/**
 * Verbalized sampling of every item: the prompt asks for `k` answers with probabilities; items whose list is
 * rejected are sampled again (seed + attempt) up to `attempts` times; each accepted list gives the response by a
 * draw seeded by the item's index. Returns the responses ('' where every list was rejected), the tokens
 * generated per item over its attempts, and each item's list or problems.
 */
function sampleVerbalized(
  policy: Policy,
  items: readonly RlPrompt[],
  config: { temperature: number; maxNewTokens: number; batchSize: number; seed: number; raw?: boolean; verbalized: { k: number; attempts: number } },
  progress: Progress,
): { responses: string[]; lengths: number[]; lists: VerbalizedItem[] } {
  const { k, attempts } = config.verbalized;
  const responses = items.map(() => '');
  const lengths = items.map(() => 0);
  const lists: VerbalizedItem[] = items.map(() => ({ problems: [], attempts: 0 }));
  let pending = items.map((_, i) => i);
  for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
    manualSeed(config.seed + 7919 * attempt);
    const asked = pending.map((i) => ({ ...(items[i] as RlPrompt), prompt: verbalizedPrompt((items[i] as RlPrompt).prompt, k) }));
    let at = 0;
    const raw = sampleResponses(policy.model, policy.tokenizer, asked, config, config.batchSize, (rollout, done) => {
      for (const n of rollout.mask.sum(1).toNumbers()) {
        const i = pending[at++] as number;
        lengths[i] = (lengths[i] as number) + n;
      }
      progress.update(done);
    });
    pending = pending.filter((i, j) => {
      const parsed = parseVerbalized(raw[j] ?? '', k);
      if (!parsed.ok) {
        lists[i] = { problems: parsed.problems, attempts: attempt + 1 };
        return true;
      }
      const chosen = pickVerbalized(parsed.answers, new Rng(config.seed).derive(`verbalized item ${i}`));
      responses[i] = (parsed.answers[chosen] as VerbalizedAnswer).text;
      lists[i] = { answers: parsed.answers, chosen, attempts: attempt + 1 };
      return false;
    });
  }
  return { responses, lengths, lists };
}

/**
 * Keeps the prompts every policy can answer with `maxNewTokens` new tokens inside its context and
 * every scorer can read with at least one response token; a prompt is never cut. The others are
 * skipped and named by file:line. `stats.maxLength` is the tightest policy budget (context − maxNewTokens).
 */
export function fitEvalPrompts<P extends RlPrompt>(
  prompts: readonly P[],
  policies: readonly Policy[],
  scorers: readonly Scorer[],
  maxNewTokens: number,
  options: PromptOptions = {},
  /** What the policies read of a prompt (default: the prompt; verbalized sampling appends its request). */
  asked: (p: P) => PromptInput = (p) => p,
): { kept: P[]; stats: TruncationStats } {
  const budget = (p: Policy) => p.model.contextLength - maxNewTokens;
  const stats = emptyTruncationStats(Math.min(...policies.map(budget)));
  const length = (tokenizer: Tokenizer, p: PromptInput) => encodePrompt(tokenizer, p, options).length;
  const kept: P[] = [];
  prompts.forEach((p, i) => {
    const fits = policies.every((pol) => length(pol.tokenizer, asked(p)) <= budget(pol)) && scorers.every((s) => length(s.tokenizer, p) + 1 <= s.maxLength);
    countFit(stats, fits ? 'kept' : 'skipped', p.source ?? `#${i}`);
    if (fits) kept.push(p);
  });
  return { kept, stats };
}

/**
 * End scores of (prompt, response) texts by one score model: encoded with the scorer's tokenizer and
 * fitted to its `maxLength` keeping the response's end (the end score is read at the last token).
 * A pair whose prompt leaves no room scores NaN and is counted as skipped. An item with `pixels` needs an image + text
 * (LLaVA) scorer, which reads the picture spliced in at its image tokens.
 */
export function scoreTexts(scorer: Scorer, items: readonly (PromptInput & { response: string; source?: string })[], batchSize = 32, options: PromptOptions = {}): { scores: number[]; stats: TruncationStats } {
  const stats = emptyTruncationStats(scorer.maxLength);
  // an image + text scorer reads an item's pixels at its image tokens; a text scorer refuses an item that has them
  const image = imageTokensOf(scorer.model, scorer.tokenizer);
  const prompt = image ? { ...options, image } : options;
  const fitted = items.map((it, i) => {
    const fit = fitPair(encodePair(scorer.tokenizer, it, it.response, prompt), scorer.maxLength, 'response-end');
    countFit(stats, fit === null ? 'skipped' : fit.truncated ? 'truncated' : 'kept', it.source ?? `#${i}`);
    return fit?.pair;
  });
  const scores = new Array<number>(items.length).fill(NaN);
  const scored = fitted.flatMap((p, i) => (p ? [i] : []));
  scorer.model.eval();
  noGrad(() => {
    for (const batch of chunks(scored, batchSize)) {
      tidy(() => {
        const pairs = batch.map((i) => fitted[i] as EncodedPair);
        const b = padForTraining(pairs, scorer.tokenizer.padId ?? 0);
        const on = { dtype: 'int64', device: scorer.model.device } as const;
        const s = scoreForward(scorer.model, tensor(b.ids, on), tensor(b.attentionMask, on), batchPixels(pairs)).toNumbers();
        batch.forEach((i, k) => (scores[i] = s[k] as number));
      });
    }
  });
  return { scores, stats };
}

/**
 * Samples `policy` once per item (the same seed for every model, so runs repeat) and scores each
 * response with the reward and cost models.
 */
export function sampleAndScore(
  policy: Policy,
  items: readonly RlPrompt[],
  judges: { reward: Scorer; cost: Scorer; classifier?: Scorer },
  config: { temperature: number; maxNewTokens: number; batchSize: number; seed: number; raw?: boolean; verbalized?: { k: number; attempts: number } | undefined },
  progress: Progress = silentProgress,
): ModelResponses {
  let lengths: number[] = [];
  manualSeed(config.seed);
  policy.model.eval();
  progress.start(`sample ${policy.name}`, items.length);
  let responses: string[];
  let lists: VerbalizedItem[] | undefined;
  if (config.verbalized) {
    ({ responses, lengths, lists } = sampleVerbalized(policy, items, { ...config, verbalized: config.verbalized }, progress));
  } else {
    responses = sampleResponses(policy.model, policy.tokenizer, items, config, config.batchSize, (rollout, done) => {
      lengths.push(...rollout.mask.sum(1).toNumbers());
      progress.update(done);
    });
  }
  progress.stop();
  const texts = items.map((p, i) => ({ ...p, response: responses[i] ?? '' }));
  const options = { raw: config.raw ?? false };
  // an item without an accepted verbalized list has no answer: its scores are NaN (left out of the means, it loses its matches)
  const unanswered = (xs: number[]) => (lists ? xs.map((x, i) => ('answers' in (lists[i] as VerbalizedItem) ? x : NaN)) : xs);
  const score = (s: Scorer) => {
    const r = scoreTexts(s, texts, 32, options);
    return { scores: unanswered(r.scores), stats: r.stats };
  };
  const reward = score(judges.reward);
  const cost = score(judges.cost);
  const classifier = judges.classifier ? score(judges.classifier) : undefined;
  return {
    ...(lists ? { verbalized: lists } : {}),
    name: policy.name,
    responses,
    lengths,
    reward: reward.scores,
    cost: cost.scores,
    ...(classifier ? { classifier: classifier.scores } : {}),
    truncation: { reward: reward.stats, cost: cost.stats, ...(classifier ? { classifier: classifier.stats } : {}) },
  };
}
