// Rejection-sampling fine-tuning: K samples per prompt from the policy, the best by Llama 2's rule kept, SFT on the picks, for R rounds (resumable per round).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic.js';
import { silentProgress, type Progress } from '../../core/progress.js';
import { fitEvalPrompts, sampleAndScore, type Scorer } from '../../eval/model-responses.js';
import type { CausalLM, Tokenizer } from '../../models/index.js';
import { Rng } from '../../world/rng.js';
import { pickBest, type ScoredCandidate } from '../best-of-n/rule.js';
import { NothingFitsError, type TruncationStats } from '../common/truncation.js';
import type { RlPrompt } from '../rl/train.js';
import { trainSft, type SftExample, type SftResult } from '../sft/train.js';
import type { RsftConfig } from './config.js';

/** A prompt to sample; `risky` when its row says (else the cost model decides, per the rule's riskyPrompts). */
export type RsftPrompt = Omit<RlPrompt, 'risky'> & { risky?: boolean };

/** One pick: the best of a prompt's K samples, with its scores. */
export interface RsftPick extends SftExample {
  reward: number;
  cost: number;
  risky: boolean | undefined;
}

export interface RsftRound {
  round: number;
  prompts: number;
  /** Responses sampled this round: prompts × K. */
  samples: number;
  /** Mean reward and share with cost > 0 over every sample, and over the picks. */
  sampleMeanReward: number;
  sampleHarmfulRate: number;
  pickMeanReward: number;
  pickHarmfulRate: number;
  /** Picks left out of SFT: cost above `maxCost`, or no score model could read them. */
  dropped: number;
  sft: Omit<SftResult, 'log'>;
}

export interface RsftResult {
  rounds: RsftRound[];
  /** Responses sampled from the policy over all rounds. */
  policySamples: number;
  /** Prompts that leave no room for maxNewTokens (skipped every round). */
  fit: TruncationStats;
}

const mean = (xs: readonly number[]) => {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
};
const harmful = (xs: readonly number[]) => {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.filter((c) => c > 0).length / f.length : NaN;
};

/** Samples K responses to each prompt, scores them, keeps the best of each by the rule. */
function samplePicks(policy: CausalLM, tokenizer: Tokenizer, prompts: readonly RsftPrompt[], judges: { reward: Scorer; cost: Scorer }, config: RsftConfig, round: number, progress: Progress) {
  const K = config.samplesPerPrompt;
  const items: RlPrompt[] = prompts.flatMap((p) => Array.from({ length: K }, () => ({ ...p, risky: p.risky ?? false })));
  const run = sampleAndScore({ name: `round ${round}`, model: policy, tokenizer }, items, judges, { temperature: config.temperature, maxNewTokens: config.maxNewTokens, batchSize: config.batchSize, seed: config.seed + round }, progress);
  const picked = prompts.map((p, i) => {
    const cands: ScoredCandidate[] = Array.from({ length: K }, (_, j) => ({ reward: run.reward[i * K + j] as number, cost: run.cost[i * K + j] as number }));
    return i * K + pickBest(cands, p.risky, config.rule);
  });
  const picks: RsftPick[] = prompts.map((p, i) => {
    const j = picked[i] as number;
    return { prompt: p.prompt, ...(p.context ? { context: p.context } : {}), ...(p.source ? { source: p.source } : {}), response: run.responses[j] ?? '', reward: run.reward[j] as number, cost: run.cost[j] as number, risky: p.risky };
  });
  // every sample with its scores, for auditing the picks
  const samples = items.map((p, i) => ({ prompt: p.prompt, source: p.source, sample: i % K, response: run.responses[i], reward: run.reward[i], cost: run.cost[i], picked: picked.includes(i) }));
  return { picks, samples, sampleMeanReward: mean(run.reward), sampleHarmfulRate: harmful(run.cost) };
}

/**
 * Rejection-sampling fine-tuning of `policy` (in place). Round r (1..R) samples K responses to each
 * prompt (or `promptsPerRound` of them) from the current policy, picks the best of each by Llama 2's
 * rule, and fine-tunes on the picks with the SFT trainer. Round r writes `<outDir>/round_<r>/samples.jsonl`, `picks.jsonl`,
 * `round.json` and the SFT checkpoint; a later call with the same outDir reuses finished picks and
 * resumes or replays (from its final checkpoint) each round's SFT, so an interrupted run continues where it stopped.
 */
export function trainRsft(args: {
  policy: CausalLM;
  tokenizer: Tokenizer;
  prompts: readonly RsftPrompt[];
  judges: { reward: Scorer; cost: Scorer };
  config: RsftConfig;
  outDir: string;
  progress?: Progress;
}): RsftResult {
  const { policy, tokenizer, config } = args;
  const progress = args.progress ?? silentProgress;
  const asRl = args.prompts.map((p) => ({ ...p, risky: p.risky ?? false }));
  const fitted = fitEvalPrompts(asRl, [{ name: 'policy', model: policy, tokenizer }], [args.judges.reward, args.judges.cost], config.maxNewTokens);
  const usable = fitted.kept.map((p) => args.prompts[asRl.indexOf(p)] as RsftPrompt);
  if (fitted.stats.skipped > 0) progress.log(`rsft: ${fitted.stats.skipped} of ${fitted.stats.total} prompts skipped (no room for ${config.maxNewTokens} new tokens): ${fitted.stats.skippedAt.join(', ')}`);
  if (usable.length === 0) throw new NothingFitsError(`rsft: none of the ${args.prompts.length} prompts leaves room for ${config.maxNewTokens} new tokens in the policy's context ${policy.contextLength}; lower maxNewTokens or use shorter prompts`);
  const rounds: RsftRound[] = [];
  for (let r = 1; r <= config.rounds; r++) {
    const dir = join(args.outDir, `round_${r}`);
    const summaryFile = join(dir, 'round.json');
    let picks: RsftPick[];
    let summary: Omit<RsftRound, 'sft'>;
    if (existsSync(summaryFile)) {
      summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as Omit<RsftRound, 'sft'>;
      picks = readFileSync(join(dir, 'picks.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RsftPick);
      progress.log(`rsft: round ${r}: reusing ${picks.length} picks (${dir})`);
    } else {
      const prompts = config.promptsPerRound ? new Rng(config.seed).derive(`round-${r}`).shuffle([...usable]).slice(0, config.promptsPerRound) : usable;
      const s = samplePicks(policy, tokenizer, prompts, args.judges, config, r, progress);
      const kept = s.picks.filter((p) => Number.isFinite(p.cost) && Number.isFinite(p.reward) && (config.maxCost === null || p.cost <= config.maxCost));
      picks = kept;
      summary = {
        round: r,
        prompts: prompts.length,
        samples: prompts.length * config.samplesPerPrompt,
        sampleMeanReward: s.sampleMeanReward,
        sampleHarmfulRate: s.sampleHarmfulRate,
        pickMeanReward: mean(s.picks.map((p) => p.reward)),
        pickHarmfulRate: harmful(s.picks.map((p) => p.cost)),
        dropped: s.picks.length - kept.length,
      };
      writeFileAtomic(join(dir, 'samples.jsonl'), s.samples.map((x) => JSON.stringify(x)).join('\n') + '\n');
      writeFileAtomic(join(dir, 'picks.jsonl'), picks.map((p) => JSON.stringify(p)).join('\n') + '\n');
      writeJsonAtomic(summaryFile, summary);
      progress.log(
        `rsft: round ${r}: ${summary.samples} samples, mean reward ${summary.sampleMeanReward.toFixed(3)} → picks ${summary.pickMeanReward.toFixed(3)}, harmful (cost > 0) ${(100 * summary.sampleHarmfulRate).toFixed(1)}% → ${(100 * summary.pickHarmfulRate).toFixed(1)}%, ${summary.dropped} picks dropped`,
      );
    }
    if (picks.length === 0) throw new NothingFitsError(`rsft: round ${r} kept no pick (${summary.dropped} dropped by maxCost ${String(config.maxCost)} or unreadable); raise maxCost`);
    const { log: _log, ...sft } = trainSft({ model: policy, tokenizer, train: picks, test: [], config: { ...config.sft, seed: config.sft.seed + r }, outDir: dir, progress });
    rounds.push({ ...summary, sft });
  }
  return { rounds, policySamples: rounds.reduce((a, r) => a + r.samples, 0), fit: fitted.stats };
}
