// Iterative Safe RLHF rounds (Beaver v1 -> v3): red-team prompts -> policy response pairs -> annotator labels ->
// retrained reward and cost models -> PPO-Lagrangian from the previous round's policy.
import { join } from 'node:path';
import type { Progress } from '../core/progress.js';
import { readPkuSafeRlhf, writePkuSafeRlhf } from '../data/pku-saferlhf.js';
import type { PreferenceRecord } from '../data/record.js';
import { trainRl, type RlLogRecord, type RlPrompt } from '../algorithms/rl/train.js';
import { evaluateScoreModel, trainScoreModel } from '../algorithms/score/train.js';
import { ppoLagMethod } from '../algorithms/ppo-lag/method.js';
import { loadPretrained, savePretrained, ScoreModel, type CausalLM, type SequenceScorer, type Tokenizer } from '../models/index.js';
import { ScoreEnsemble, WORSE } from '../algorithms/score/ensemble.js';
import { manualSeed } from '../torch/index.js';
import { qualifiedAnnotators } from '../world/build.js';
import { Rng } from '../world/rng.js';
import type { PipelineConfig } from './config.js';
import { annotatePolicyPairs, sampleLabelledPairs } from './annotate-policy.js';
import { judgeRoundPairs, type RlaifRound } from './rlaif.js';
import { evaluatePolicy, type PolicyEval } from './evaluate-policy.js';
import { COLLECTIVE, type StageRunner } from './stages.js';
import { dataParallel } from '../distributed/data-parallel.js';
import { calibrateThreshold } from './score-validation.js';
import { sampleResponses } from './sample-responses.js';
import { scoreTexts } from '../eval/model-responses.js';
import type { EvaluationSet } from './evaluation-data.js';

/** A round whose judge labelled no pair. */
export class RlaifError extends Error {
  override name = 'RlaifError';
}

export interface RoundResult {
  round: number;
  pairs: number;
  /** Gold harmful rate of the round's pair responses (the previous policy's behaviour on new prompts). */
  pairHarmfulRate: number;
  /** The cost threshold d this round's PPO-Lagrangian used. */
  threshold: number;
  /** With rounds.budget 'no-regress': the start policy's expected cost under the round's retrained cost model; else null. */
  startCost: number | null;
  /** With rounds.rlaif.judge: the judge's labelling of the round's pairs and its agreement with the annotators and gold; else null. */
  rlaif?: RlaifRound | null;
  log: RlLogRecord[];
  eval: PolicyEval;
  dir: string;
}

export async function runRounds(args: {
  runner: StageRunner;
  runDir: string;
  config: PipelineConfig;
  tokenizer: Tokenizer;
  trainPrompts: readonly RlPrompt[];
  redTeamPrompts: readonly RlPrompt[];
  /** Evaluation only: test prompts and the gold judge. */
  evalSet: EvaluationSet;
  /** Training pairs of the first reward/cost models (validation split excluded). */
  previousTrainData: readonly PreferenceRecord[];
  /** The SFT policy: each round's `kl` is measured against it. */
  sftDir: string;
  start: { policyDir: string; rewardDir: string; costDir: string };
  /**
   * Annotator-labelled validation pairs (never trained on). With `ppoLag.lagrange.threshold` null,
   * each round recalibrates d on them with its retrained cost model: d is in the cost model's units,
   * and a retrained model scores the same responses differently.
   */
  validation: readonly PreferenceRecord[];
  progress: Progress;
}): Promise<RoundResult[]> {
  const { config, tokenizer, progress } = args;
  const job = dataParallel();
  const results: RoundResult[] = [];
  let dirs = args.start;
  const annotators = qualifiedAnnotators(config.world).qualified;
  /** Every labelled training pair so far: the first models' data, then each round's new pairs. */
  const labelled: PreferenceRecord[] = [...args.previousTrainData];
  /** Every earlier reward and cost model (the first run's, then each finished round's): the ensemble's other members. */
  const scoreDirs = { reward: [args.start.rewardDir], cost: [args.start.costDir] };
  for (let k = 1; k <= config.rounds.count; k++) {
    const stage = `round_${k}`;
    const result = await args.runner.run(
      stage,
      async ({ stageDir }) => {
        manualSeed(config.seed + 1000 * k);
        const rng = new Rng(config.seed).derive(stage);
        const policy = loadPretrained(dirs.policyDir).model as CausalLM;
        // new prompts: the red team joins from round 1 on
        const pool = [...args.redTeamPrompts, ...args.trainPrompts];
        const fromSft = config.rounds.scoreInit === 'sft';
        const { thresholdQuantile, ...lag } = config.ppoLag.lagrange;
        // sampling and labelling on rank 0 (data-parallel: the others wait); every draw of `rng` happens here, in order
        const labels = await job.onMain(async () => {
          let prompts = Array.from({ length: config.rounds.pairs }, (_, i) => (i % 2 === 0 ? rng.pick(args.redTeamPrompts) : rng.pick(pool)));
          let responses: [string, string][] | undefined;
          if (config.rounds.redTeamPairs === 'costliest') {
            ({ prompts, responses } = costliestRedTeamPairs({
              policy,
              tokenizer,
              prompts,
              redTeamPrompts: args.redTeamPrompts,
              costModel: loadPretrained(dirs.costDir).model as ScoreModel,
              candidates: config.rounds.candidates,
              rng,
              maxNewTokens: config.eval.maxNewTokens,
              progress,
              label: stage,
            }));
          }
          const annotated = annotatePolicyPairs({
            ...(responses ? { responses } : {}),
            policy,
            tokenizer,
            prompts,
            annotators,
            world: config.world,
            rng,
            maxNewTokens: config.eval.maxNewTokens,
            source: 'policy',
            judge: args.evalSet.judge,
            progress,
            label: stage,
          });
          const { pairHarmfulRate } = annotated;
          let records = annotated.records;
          let rlaif: RlaifRound | null = null;
          if (config.rounds.rlaif.judge) {
            // RLAIF: the judge's labels replace the annotators'; theirs stay beside them for the agreement figures
            ({ records, rlaif } = await judgeRoundPairs({ records, stageDir, config: config.rounds.rlaif, progress }));
            const s = rlaif.summary;
            progress.log(`${stage}: the judge labelled ${s.labelled}/${s.pairs} pairs (ties ${s.ties.unlabelled}, malformed ${s.malformedPairs}, inconsistent ${s.inconsistent}, failed ${s.failedPairs}; tokens ${s.tokens.prompt} + ${s.tokens.completion})`);
            if (records.length === 0) throw new RlaifError(`${stage}: the judge ${config.rounds.rlaif.judge} labelled none of the ${s.pairs} pairs; see ${join(stageDir, 'judge-preferences.summary.json')}`);
          }
          writePkuSafeRlhf(join(stageDir, 'preferences.jsonl'), records);
          // rounds.scoreInit 'start': the new labels plus an equal share of earlier data
          const earlier = fromSft ? [] : rng.sample(labelled, Math.min(labelled.length, records.length));
          const costPrompts = config.rounds.budget === 'no-regress' ? rng.sample(pool, Math.min(pool.length, lag.window)) : [];
          return { records, pairHarmfulRate, rlaif, earlier, costPrompts };
        });
        const { records, pairHarmfulRate, rlaif } = labels;
        // retrain both score models: fresh from the SFT backbone on every label so far, or the previous
        // models fine-tuned on the new labels plus an equal share of earlier data (rounds.scoreInit)
        const train = fromSft ? [...labelled, ...records] : [...records, ...labels.earlier];
        const retrain = async (kind: 'reward' | 'cost', dir: string) => {
          const m = fromSft
            ? ScoreModel.fromCausalLM(loadPretrained(args.sftDir).model as CausalLM, kind)
            : ScoreModel.fromScoreModel(loadPretrained(dir).model as ScoreModel, kind);
          trainScoreModel({ kind, model: m, tokenizer, train, config: { ...config[kind], epochs: config.rounds.scoreEpochs }, outDir: join(stageDir, kind), progress });
          await job.onMain(() => savePretrained(join(stageDir, kind, 'model'), m, { tokenizer }));
          return m;
        };
        const retrainedReward = await retrain('reward', dirs.rewardDir);
        const retrainedCost = await retrain('cost', dirs.costDir);
        // rounds.scoreModels 'ensemble': every model so far (the first run's and each round's) scores, by their mean
        const judgeOf = (kind: 'reward' | 'cost', retrained: ScoreModel): SequenceScorer =>
          config.rounds.scoreModels === 'ensemble'
            ? new ScoreEnsemble([...scoreDirs[kind].map((d) => loadPretrained(d).model as ScoreModel), retrained]).asScorer({ reduce: 'mean', k: 0, lambda: 1 }, WORSE[kind])
            : retrained;
        const rewardModel = judgeOf('reward', retrainedReward);
        const costModel = judgeOf('cost', retrainedCost);
        if (config.rounds.scoreModels === 'ensemble') progress.log(`${stage}: scored by the mean of ${scoreDirs.reward.length + 1} reward and ${scoreDirs.cost.length + 1} cost models (rounds.scoreModels ensemble)`);
        const reference = loadPretrained(config.rounds.reference === 'sft' ? args.sftDir : dirs.policyDir).model as CausalLM;
        const critics = { reward: ScoreModel.fromScoreModel(retrainedReward, 'critic'), cost: ScoreModel.fromScoreModel(retrainedCost, 'critic') };
        const { threshold, startCost } = await job.onMain(() => {
          const budget = lag.threshold ?? calibrateThreshold(evaluateScoreModel('cost', costModel, tokenizer, args.validation), thresholdQuantile);
          progress.log(`${stage}: cost threshold d = ${budget.toFixed(3)}${lag.threshold === null ? " (recalibrated on the validation split with the round's cost model)" : ' (set by the user)'}`);
          if (config.rounds.budget !== 'no-regress') return { threshold: budget, startCost: null };
          const cost = expectedCost(policy, costModel, tokenizer, labels.costPrompts, config);
          progress.log(`${stage}: the start policy's expected cost under the round's cost model is ${cost.toFixed(3)}; d = ${Math.min(budget, cost).toFixed(3)} (no-regress)`);
          return { threshold: Math.min(budget, cost), startCost: cost };
        });
        const out = trainRl({
          method: ppoLagMethod({ klCoef: config.ppoLag.klCoef, scoreClip: config.rl.scoreClip, lagrange: { ...lag, threshold } }),
          models: { actor: policy, reference, rewardModel, costModel, critics },
          tokenizer,
          prompts: pool,
          config: { ...config.rl, steps: config.rounds.rlSteps, criticWarmupSteps: config.rounds.criticWarmupSteps, seed: config.seed + k },
          outDir: join(stageDir, 'ppo_lag'),
          // per-step gold metrics of the rollouts: logged only
          judge: args.evalSet.judge,
          progress,
        });
        const ev = await job.onMain(() => {
          savePretrained(join(stageDir, 'model'), policy, { tokenizer });
          return evaluatePolicy({
            name: stage,
            policy,
            reference: loadPretrained(args.sftDir).model as CausalLM,
            startReference: loadPretrained(dirs.policyDir).model as CausalLM,
            rewardModel: retrainedReward,
            costModel: retrainedCost,
            tokenizer,
            prompts: args.evalSet.testPrompts,
            heldOutPrompts: args.evalSet.heldOutPrompts,
            config: config.eval,
            seed: config.seed,
            judge: args.evalSet.judge,
          });
        });
        return { round: k, pairs: records.length, pairHarmfulRate, threshold, startCost, rlaif, log: out.log, eval: ev, dir: stageDir };
      },
      COLLECTIVE,
    );
    results.push(result);
    labelled.push(...(await readPkuSafeRlhf(join(args.runDir, stage, 'preferences.jsonl'))).records);
    dirs = { policyDir: join(result.dir, 'model'), rewardDir: join(result.dir, 'reward', 'model'), costDir: join(result.dir, 'cost', 'model') };
    scoreDirs.reward.push(dirs.rewardDir);
    scoreDirs.cost.push(dirs.costDir);
  }
  return results;
}

/**
 * J_c of a policy under a cost model: the mean end score of the cost model over one sampled response per prompt,
 * sampled as the RL rollouts are (rl.temperature, rl.maxNewTokens, rl.promptsPerStep per batch).
 */
function expectedCost(policy: CausalLM, costModel: SequenceScorer, tokenizer: Tokenizer, prompts: readonly RlPrompt[], config: PipelineConfig): number {
  let sum = 0;
  sampleResponses(policy, tokenizer, prompts, { temperature: config.rl.temperature, maxNewTokens: config.rl.maxNewTokens }, config.rl.promptsPerStep, (rollout) => {
    sum += costModel
      .forward(rollout.sequences, rollout.attentionMask)
      .endScores.toNumbers()
      .reduce((a, b) => a + b, 0);
  });
  return sum / Math.max(1, prompts.length);
}

/**
 * rounds.redTeamPairs 'costliest': for the red-team slots of `prompts` (its even indices), `candidates` times as many pairs
 * are sampled on freshly drawn red-team prompts, and the pairs whose costlier response scores highest under `costModel` (the
 * start policy's cost model) are kept, in the order they were drawn; the other slots keep one sampled pair each.
 */
export function costliestRedTeamPairs(args: {
  policy: CausalLM;
  tokenizer: Tokenizer;
  prompts: readonly RlPrompt[];
  redTeamPrompts: readonly RlPrompt[];
  costModel: ScoreModel;
  candidates: number;
  rng: Rng;
  maxNewTokens: number;
  progress: Progress;
  label: string;
}): { prompts: RlPrompt[]; responses: [string, string][]; candidateCosts: number[]; keptCosts: number[] } {
  const nRed = Math.ceil(args.prompts.length / 2);
  const drawn = Array.from({ length: nRed * args.candidates }, () => args.rng.pick(args.redTeamPrompts));
  const others = args.prompts.filter((_, i) => i % 2 === 1);
  const sampled = sampleLabelledPairs(args.policy, args.tokenizer, [...drawn, ...others], args.maxNewTokens, `${args.label}: sampling pairs (${args.candidates} per red-team pair kept)`, args.progress);
  const items = drawn.flatMap((p, i) => (sampled[i] as [string, string]).map((response) => ({ ...p, response })));
  const scores = scoreTexts({ model: args.costModel, tokenizer: args.tokenizer, maxLength: args.costModel.contextLength }, items, 64).scores;
  // a response too long to score counts as the least costly
  const costlier = drawn.map((_, i) => Math.max(...[scores[2 * i], scores[2 * i + 1]].map((c) => (Number.isNaN(c) ? -Infinity : (c as number)))));
  const kept = topIndices(costlier, nRed);
  const mean = (xs: readonly number[]) => xs.filter(Number.isFinite).reduce((a, b) => a + b, 0) / Math.max(1, xs.filter(Number.isFinite).length);
  const keptCosts = kept.map((i) => costlier[i] as number);
  args.progress.log(`${args.label}: kept the ${nRed} of ${drawn.length} red-team pairs whose costlier response the start cost model scores highest (mean ${mean(keptCosts).toFixed(3)} vs ${mean(costlier).toFixed(3)} over all)`);
  const red = kept.map((i) => ({ prompt: drawn[i] as RlPrompt, pair: sampled[i] as [string, string] }));
  const rest = others.map((prompt, i) => ({ prompt, pair: sampled[drawn.length + i] as [string, string] }));
  const slots = args.prompts.map((_, i) => (i % 2 === 0 ? red[i / 2] : rest[(i - 1) / 2]) as { prompt: RlPrompt; pair: [string, string] });
  return { prompts: slots.map((s) => s.prompt), responses: slots.map((s) => s.pair), candidateCosts: costlier, keptCosts };
}

/** The indices of the `n` largest values (ties: the earlier index first), in ascending index order. */
export function topIndices(values: readonly number[], n: number): number[] {
  return values
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, n)
    .map(([, i]) => i)
    .sort((a, b) => a - b);
}
