// The Safe RLHF pipeline on the built-in world: world -> SFT -> annotations -> reward/cost models -> PPO, shaping, PPO-Lag (+ DPO family with `methods`) -> eval -> report.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../config/schema-cli.js';
import { isPlainObject } from '../config/defaults.js';
import { silentProgress, type Progress } from '../core/progress.js';
import { writeJsonAtomic } from '../core/fs-atomic.js';
import type { PreferenceRecord } from '../data/record.js';
import { trainSft } from '../algorithms/sft/train.js';
import { evaluateScoreModel, trainScoreModel, type ScoreEval, type ScoreKind } from '../algorithms/score/train.js';
import { ScoreEnsemble, warmAverage, WORSE } from '../algorithms/score/ensemble.js';
import { trainRl, type GoldJudge, type RlLogRecord } from '../algorithms/rl/train.js';
import { criticStreams, type RlMethod, type StreamName } from '../algorithms/rl/method.js';
import { ppoMethod } from '../algorithms/ppo/method.js';
import { ppoLagMethod } from '../algorithms/ppo-lag/method.js';
import { rewardShapingMethod } from '../algorithms/reward-shaping/method.js';
import { createCausalLM, loadPretrained, savePretrained, ScoreModel, type CausalLM, type SequenceScorer } from '../models/index.js';
import { parseModelConfig } from '../models/hf-config.js';
import { Tokenizer } from '../models/tokenizer.js';
import { manualSeed, setNumThreads } from '../torch/index.js';
import { useDevice } from '../config/device.js';
import { buildWorld } from '../world/index.js';
import { qualifiedAnnotators } from '../world/build.js';
import { Rng } from '../world/rng.js';
import { readPkuSafeRlhf, writePkuSafeRlhf } from '../data/pku-saferlhf.js';
import { annotatePolicyPairs } from './annotate-policy.js';
import { evaluatePolicy, evaluateResponder, policyResponder, scoreResponses, type PolicyEval, type Responder } from './evaluate-policy.js';
import { writePipelineReport } from './report.js';
import { runRounds } from './rounds.js';
import { PipelineConfigSchema, policyGpt2Config, type PipelineConfig } from './config.js';
import { COLLECTIVE, StageRunner } from './stages.js';
import { dataParallel } from '../distributed/data-parallel.js';
import { readTrainingData } from './training-data.js';
import { worldTokenizer } from './world-tokenizer.js';
import { readEvaluationSet } from './evaluation-data.js';
import { assertThresholdSource, pipelineThreshold, splitValidation } from './score-validation.js';
import { harmfulRateByCategory } from '../eval/category-harm.js';
import { METHOD_STAGES, methodsOf, PIPELINE_METHODS, RL_PIPELINE_METHODS, RL_PIPELINE_REWARD, samplesPerPromptOf, type HcSafetyTest, type MethodContext, type PipelineMethod, type RobustResults, type StepLog } from './methods.js';
import { compareByGroup } from '../algorithms/micro/compare.js';
import type { PreferenceLogRecord } from '../algorithms/dpo/train.js';
import type { RlaifRound } from './rlaif.js';
import { needsEnsemble, runOveroptimisation, type OveroptimisationResult } from './overoptimisation.js';
import { runHcGuaranteePart } from './hc-guarantee-world.js';

/** What training a model cost: the method's own wall time, the score models it needed, and how many responses it sampled. */
export interface TrainingCost {
  /** Seconds of the method's own stage, evaluation excluded (summed over resumed attempts). */
  wallTimeSec: number;
  /** Seconds of training the reward (and cost) model the method optimises; 0 for methods that learn from the pairs directly. */
  scoreModelsSec: number;
  /** Responses sampled from the policy during training (RL rollouts); 0 for offline methods. */
  policySamples: number;
}

export interface PipelineResult {
  runDir: string;
  models: Record<string, PolicyEval>;
  /** Score-model accuracy on the validation split (annotator labels), the test pairs (annotator labels) and the same pairs' gold labels. */
  scoreModels: Record<ScoreKind, { validation: ScoreEval; test: ScoreEval; gold: ScoreEval }>;
  training: Record<string, RlLogRecord[]>;
  timings: Record<string, number>;
  /** The PPO-Lagrangian cost threshold d actually used (set by the user or calibrated on the validation split). */
  threshold: number;
  /** Gold test accuracy of the reward ensemble members, their combinations and WARM. */
  ensemble: { members: number[]; mean: number; min: number; uncertainty: number; warm: number } | null;
  /** Per iterative round: pairs labelled and the harmful rate of the previous policy's sampled responses. */
  rounds: { round: number; pairs: number; pairHarmfulRate: number; threshold: number; startCost: number | null; rlaif?: RlaifRound | null }[];
  /** Preference pairs the reward and cost models were trained on: the world's and those sampled from the SFT policy. */
  preferenceData: { worldPairs: number; sftPairs: number; sftPairHarmfulRate: number | null; trainPairs: number; validationPairs: number };
  /** Reward and cost model scores of every response in the gold-labelled preference test set. */
  testScatter: { reward: number; cost: number; safe: boolean }[];
  /** Per trained model (RL methods and those added with `methods`; not SFT or rounds): its training cost. */
  trainingCost: Record<string, TrainingCost>;
  /** Per-step logs of preference training (DPO family): implicit chosen/rejected rewards, margin, accuracy. */
  preferenceLogs: Record<string, PreferenceLogRecord[]>;
  /** HC-RLHF's safety test per model key ("no solution found" when it failed); absent without hc_rlhf. */
  safetyTests?: Record<string, HcSafetyTest>;
  /** Per-step logs of the other offline trainers (A-LoL): loss, NLL, log-ratio to π_ref, advantage; absent in results saved before it existed. */
  stepLogs?: Record<string, StepLog>;
  /** The over-optimisation curves (with methods: overoptimisation). */
  overoptimisation?: OveroptimisationResult;
  /** The robust section: reward-model methods (micro, weak_to_strong) and the study hc_guarantee; absent without them. */
  robust?: RobustResults;
}

/** Settings that do not change finished results: a run may be resumed with other values (`methods`: adding one runs only its stage). */
const RESUME_FREE = new Set(['threads', 'runsDir', 'name', 'jobs', 'methods', 'nproc', 'device']);

/** Field paths (a.b.c) where two resolved configs differ. */
export function configDifferences(before: unknown, after: unknown, path = ''): string[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => (path === '' && RESUME_FREE.has(k) ? [] : configDifferences(before[k], after[k], path ? `${path}.${k}` : k)));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [path];
}

/** A saved config.json; a run saved before a setting existed gets that setting's default (new settings never change finished stages). `schema`: the pipeline's. */
export function readSavedConfig(file: string, schema: { safeParse: (v: unknown) => { success: boolean; data?: unknown } } = PipelineConfigSchema): unknown {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const parsed = schema.safeParse(saved);
  return parsed.success ? parsed.data : saved;
}

/**
 * A run folder is resumed only with the config it was made with: finished stages are reused as
 * they are, so a changed setting would silently mix results of two configs.
 */
export function assertSameConfig(file: string, config: PipelineConfig): void {
  if (!existsSync(file)) return;
  const before = readSavedConfig(file);
  const diff = configDifferences(before, config);
  if (diff.length === 0) return;
  const show = (v: unknown) => JSON.stringify(v) ?? 'unset';
  const get = (o: unknown, p: string) => p.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);
  const lines = diff.slice(0, 8).map((p) => `  ${p}: ${show(get(before, p))} -> ${show(get(config, p))}`);
  throw new ConfigError(
    `${dirname(file)} holds a run made with a different config:\n${lines.join('\n')}${diff.length > 8 ? `\n  … and ${diff.length - 8} more` : ''}\n` +
      `Finished stages would be reused as they are. Start a new run with --name <other>, or delete ${dirname(file)} to redo this one.`,
  );
}

export interface RunOptions {
  /** The gold judge handed to evaluation (default: the built-in world's oracle). Training stages never see it. */
  judge?: GoldJudge;
}

/** Runs (or resumes) the whole pipeline under `<runsDir>/<name>/`. */
export async function runPipeline(config: PipelineConfig, progress: Progress = silentProgress, options: RunOptions = {}): Promise<PipelineResult> {
  assertThresholdSource(config.ppoLag.lagrange.threshold, config.scoreValidation.fraction);
  for (const m of methodsOf(config.methods).filter((k) => RL_PIPELINE_REWARD[k] === 'ensemble')) {
    if (config.ensemble.members < 1) throw new ConfigError(`${m} optimises the reward ensemble, but ensemble.members is 0: set ensemble.members (--ensemble-members) to 2 or more`);
  }
  if (config.methods.includes('overoptimisation') && config.ensemble.members < 1) {
    const remedies = config.overoptimisation.variants.filter(needsEnsemble);
    if (remedies.length > 0) throw new ConfigError(`overoptimisation runs ${remedies.join(', ')} on the reward ensemble, but ensemble.members is 0: set ensemble.members (--ensemble-members) to 2 or more, or leave them out of overoptimisation.variants`);
  }
  if (config.rounds.count > 0 && config.rounds.criticWarmupSteps >= config.rounds.rlSteps) {
    throw new ConfigError(`rounds.criticWarmupSteps (${config.rounds.criticWarmupSteps}) is not below rounds.rlSteps (${config.rounds.rlSteps}): each round's policy would never update. Lower --rounds-critic-warmup-steps or raise --rounds-rl-steps`);
  }
  const G = config.groupSampling.samplesPerPrompt;
  for (const m of methodsOf(config.methods)) {
    const build = RL_PIPELINE_METHODS[m];
    const method = build?.(config, { ...config.ppoLag.lagrange, threshold: 0 });
    if (!method || method.estimator.usesCritic) continue;
    const g = samplesPerPromptOf(method, G);
    if (config.rl.promptsPerStep % g !== 0) {
      const what = g === G ? `groupSampling.samplesPerPrompt ${G}` : `${m}'s ${g} samples per prompt`;
      throw new ConfigError(`rl.promptsPerStep ${config.rl.promptsPerStep} is not a multiple of ${what}: ${m} would see another number of responses per step than PPO-Lagrangian. Change one of them.`);
    }
  }
  if (config.threads > 0) setNumThreads(config.threads);
  useDevice(config.device);
  const runDir = join(config.runsDir, config.name);
  // data-parallel (safealign launch): training stages run on every rank, everything else on rank 0 (see StageRunner)
  const job = dataParallel();
  await job.onMain(() => {
    assertSameConfig(join(runDir, 'config.json'), config);
    writeJsonAtomic(join(runDir, 'config.json'), config);
  });
  const runner = new StageRunner(runDir, progress);
  const worldDir = join(runDir, 'world');

  await runner.run('world', ({ stageDir }) => buildWorld(config.world, stageDir, progress));
  // Training stages read `data` only; `evalSet` (test split, gold labels, the gold judge) goes to evaluation only.
  const data = await readTrainingData(worldDir);
  const evalSet = await readEvaluationSet(worldDir, options.judge);

  // --- tokenizer: word level over everything the policy will read or write -----------------
  const tokDir = join(runDir, 'tokenizer');
  await runner.run('tokenizer', () => {
    const tok = worldTokenizer(data.sftTrain, data.vocabulary);
    tok.save(tokDir);
    return { vocabSize: tok.vocabSize };
  });
  const tokenizer = Tokenizer.fromDir(tokDir);

  const loadLM = (dir: string) => loadPretrained(dir).model as CausalLM;

  // --- SFT -------------------------------------------------------------------------------------
  const sftModelDir = join(runDir, 'sft', 'model');
  await runner.run('sft', async ({ stageDir }) => {
    manualSeed(config.seed);
    const model = createCausalLM(parseModelConfig(policyGpt2Config(config.model, tokenizer)));
    // `test` only computes the logged held-out loss curve; it never changes an update.
    const result = trainSft({ model, tokenizer, train: data.sftTrain, test: evalSet.sftTest, config: config.sft, outDir: stageDir, progress });
    await job.onMain(() => savePretrained(sftModelDir, model, { tokenizer, trainingConfig: config.sft }));
    return { steps: result.steps, evalLoss: result.finalEvalLoss, evalPerplexity: result.finalEvalPerplexity, log: result.log, truncation: result.truncation };
  }, COLLECTIVE);

  // --- annotations: response pairs from the SFT policy, labelled by the simulated annotators -----
  const trainPrompts = data.prompts;
  const annotationsFile = join(runDir, 'annotations', 'preferences.jsonl');
  const annotate = () =>
    runner.run('annotations', ({ stageDir }) => {
      manualSeed(config.seed + 3);
      const rng = new Rng(config.seed).derive('annotations');
      const risky = trainPrompts.filter((p) => p.risky);
      const benign = trainPrompts.filter((p) => !p.risky);
      const prompts = Array.from({ length: config.annotations.pairs }, () => rng.pick(rng.next() < config.annotations.riskyFraction ? risky : benign));
      const out = annotatePolicyPairs({
        policy: loadLM(sftModelDir),
        tokenizer,
        prompts,
        annotators: qualifiedAnnotators(config.world).qualified,
        world: config.world,
        rng,
        maxNewTokens: config.eval.maxNewTokens,
        source: 'sft',
        judge: evalSet.judge,
        progress,
      });
      writePkuSafeRlhf(join(stageDir, 'preferences.jsonl'), out.records);
      progress.log(`annotations: ${out.records.length} SFT response pairs labelled (gold harmful rate of the risky ones ${(100 * out.pairHarmfulRate).toFixed(1)}%)`);
      return { pairs: out.records.length, pairHarmfulRate: out.pairHarmfulRate };
    });
  const annotated = config.annotations.pairs > 0 ? await annotate() : null;

  // --- reward and cost models, validated on a held-out share of the annotator-labelled pairs ------
  const worldPairs = data.pairs;
  const sftPairs = annotated ? (await readPkuSafeRlhf(annotationsFile)).records : [];
  const splitRng = new Rng(config.seed).derive('score-validation');
  const worldSplit = splitValidation(worldPairs, config.scoreValidation.fraction, splitRng.derive('world'));
  const sftSplit = splitValidation(sftPairs, config.scoreValidation.fraction, splitRng.derive('sft'));
  const prefTrain: PreferenceRecord[] = [...worldSplit.train, ...sftSplit.train];
  const prefValidation: PreferenceRecord[] = [...worldSplit.validation, ...sftSplit.validation];
  const preferenceData = {
    worldPairs: worldPairs.length,
    sftPairs: annotated?.pairs ?? 0,
    sftPairHarmfulRate: annotated?.pairHarmfulRate ?? null,
    trainPairs: prefTrain.length,
    validationPairs: prefValidation.length,
  };
  const scoreDir = (k: ScoreKind) => join(runDir, k, 'model');
  const scoreModels = {} as PipelineResult['scoreModels'];
  for (const kind of ['reward', 'cost'] as const) {
    scoreModels[kind] = await runner.run(kind, async ({ stageDir }) => {
      manualSeed(config.seed + (kind === 'reward' ? 1 : 2));
      const model = ScoreModel.fromCausalLM(loadLM(sftModelDir), kind);
      trainScoreModel({ kind, model, tokenizer, train: prefTrain, config: config[kind], outDir: stageDir, progress });
      return job.onMain(() => {
        savePretrained(scoreDir(kind), model, { tokenizer, trainingConfig: config[kind] });
        const validation = evaluateScoreModel(kind, model, tokenizer, prefValidation);
        const test = evaluateScoreModel(kind, model, tokenizer, evalSet.pairs);
        const gold = evaluateScoreModel(kind, model, tokenizer, evalSet.goldPairs);
        progress.log(`${kind} model: validation accuracy ${(100 * validation.accuracy).toFixed(1)}%, test accuracy ${(100 * test.accuracy).toFixed(1)}% (vs gold ${(100 * gold.accuracy).toFixed(1)}%)` +
          (gold.signAccuracy !== undefined ? `, sign accuracy vs gold ${(100 * gold.signAccuracy).toFixed(1)}%` : ''));
        return { validation, test, gold };
      });
    }, COLLECTIVE);
  }
  // --- reward-model ensemble and WARM (members share the SFT init, differ in seed and data order) ----
  const memberDir = (i: number) => join(runDir, 'reward_ensemble', `member_${i}`, 'model');
  const ensemble =
    config.ensemble.members > 0
      ? await runner.run('reward_ensemble', async ({ stageDir }) => {
          const members: ScoreModel[] = [];
          for (let i = 0; i < config.ensemble.members; i++) {
            manualSeed(config.seed + 100 + i);
            const m = ScoreModel.fromCausalLM(loadLM(sftModelDir), 'reward');
            const cfg = { ...config.reward, epochs: config.ensemble.epochs, seed: config.reward.seed + 100 + i };
            trainScoreModel({ kind: 'reward', model: m, tokenizer, train: prefTrain, config: cfg, outDir: join(stageDir, `member_${i}`), progress });
            await job.onMain(() => savePretrained(memberDir(i), m, { tokenizer, trainingConfig: cfg }));
            members.push(m);
          }
          return job.onMain(() => {
            const acc = (s: Parameters<typeof evaluateScoreModel>[1]) => evaluateScoreModel('reward', s, tokenizer, evalSet.goldPairs).accuracy;
            const ens = new ScoreEnsemble(members);
            const result = {
              members: members.map((m) => acc(m)),
              mean: acc(ens.asScorer({ reduce: 'mean', k: 1, lambda: 0.5 }, WORSE.reward)),
              min: acc(ens.asScorer({ reduce: 'worst', k: 1, lambda: 0.5 }, WORSE.reward)),
              uncertainty: acc(ens.asScorer({ reduce: 'uncertainty', k: 1, lambda: 0.5 }, WORSE.reward)),
              warm: acc(warmAverage(members)),
            };
            progress.log(`reward ensemble (gold accuracy): members ${result.members.map((a) => (100 * a).toFixed(1)).join(', ')}%; mean ${(100 * result.mean).toFixed(1)}%, min ${(100 * result.min).toFixed(1)}%, WARM ${(100 * result.warm).toFixed(1)}%`);
            return result;
          });
        }, COLLECTIVE)
      : null;
  const loadScore = (kind: ScoreKind) => loadPretrained(scoreDir(kind)).model as ScoreModel;
  const rewardModel = loadScore('reward');
  /** The reward_ensemble stage's members as one reward, reduced by ensemble.rl (methods whose RL_PIPELINE_REWARD is 'ensemble'). */
  const loadMembers = (): ScoreModel[] => {
    const dirs = Array.from({ length: config.ensemble.members }, (_, i) => memberDir(i));
    const missing = dirs.filter((d) => !existsSync(join(d, 'config.json')));
    if (missing.length > 0) {
      throw new ConfigError(`the reward_ensemble stage of ${runDir} finished before its members were saved (${missing[0]} is missing): delete ${join(runDir, 'reward_ensemble')} and run again to retrain them`);
    }
    return dirs.map((d) => loadPretrained(d).model as ScoreModel);
  };
  const ensembleReward = (): SequenceScorer => new ScoreEnsemble(loadMembers()).asScorer(config.ensemble.rl, WORSE.reward);
  const costModel = loadScore('cost');

  // The Safe RLHF paper's figure: reward vs cost of every test-set response, coloured by gold safety.
  const testScatter = await runner.run('score_scatter', () =>
    scoreResponses(rewardModel, costModel, tokenizer, evalSet.goldPairs.flatMap((r) => r.responses.map((response, i) => ({ prompt: r.prompt, response, safe: r.isSafe?.[i] ?? true })))),
  );

  const evalOn = { prompts: evalSet.testPrompts, heldOutPrompts: evalSet.heldOutPrompts, config: config.eval, seed: config.seed, judge: evalSet.judge };
  const evaluate = (policy: CausalLM, reference: CausalLM, name: string) => evaluatePolicy({ name, policy, reference, rewardModel, costModel, tokenizer, ...evalOn });
  const sampler = (policy: CausalLM, reference: CausalLM) => policyResponder({ policy, reference, rewardModel, costModel, tokenizer, config: config.eval, batchSize: 64 });
  const evaluateWith = (respond: Responder, name: string) => evaluateResponder({ name, respond, ...evalOn, embedder: { model: loadLM(sftModelDir), tokenizer } });

  const models: Record<string, PolicyEval> = {};
  models.sft = await runner.run('eval_sft', () => {
    const sft = loadLM(sftModelDir);
    return evaluate(sft, sft, 'sft');
  });

  // --- RL methods --------------------------------------------------------------------------------
  const rl = config.rl;
  const { thresholdQuantile: _q, ...lag } = config.ppoLag.lagrange;
  const threshold = pipelineThreshold(config.ppoLag.lagrange, scoreModels.cost.validation, progress);
  // the reward a method optimises, and the stage that trained it (its time counts towards the method's training cost)
  type Reward = { scorer: () => SequenceScorer; stage: string };
  const single: Reward = { scorer: () => rewardModel, stage: 'reward' };
  const rewardOf = (key: PipelineMethod): Reward => (RL_PIPELINE_REWARD[key] === 'ensemble' ? { scorer: ensembleReward, stage: 'reward_ensemble' } : single);
  const methods: [string, () => RlMethod, Reward][] = [
    ['ppo', () => ppoMethod({ klCoef: config.ppo.klCoef, scoreClip: rl.scoreClip }), single],
    ...config.shaping.nus.map((nu): [string, () => RlMethod, Reward] => [`shaping_${nu}`, () => rewardShapingMethod({ klCoef: config.shaping.klCoef, scoreClip: rl.scoreClip, nu }), single]),
    ['ppo_lag', () => ppoLagMethod({ klCoef: config.ppoLag.klCoef, scoreClip: rl.scoreClip, lagrange: { ...lag, threshold } }), single],
    ...methodsOf(config.methods).flatMap((key): [string, () => RlMethod, Reward][] => {
      const build = RL_PIPELINE_METHODS[key];
      return build ? [[key, () => build(config, { ...lag, threshold }), rewardOf(key)]] : [];
    }),
  ];
  // Critic-free methods draw G samples (P3O: 2) for each of promptsPerStep / G prompts: the same responses per step as the others.
  const rlFor = (method: RlMethod) => {
    const g = samplesPerPromptOf(method, G);
    return method.estimator.usesCritic ? rl : { ...rl, samplesPerPrompt: g, promptsPerStep: rl.promptsPerStep / g };
  };
  const training: Record<string, RlLogRecord[]> = {};
  const trainingCost: Record<string, TrainingCost> = {};
  const scoreModelsSec = (usesCost: boolean, rewardStage = 'reward') => (runner.timings[rewardStage] ?? 0) + (usesCost ? (runner.timings.cost ?? 0) : 0);
  for (const [key, make, reward] of methods) {
    const result = await runner.run(key, async ({ stageDir }) => {
      manualSeed(config.seed + 10);
      const method = make();
      const critics: Partial<Record<StreamName, ScoreModel>> = {};
      for (const s of criticStreams(method)) critics[s] = ScoreModel.fromScoreModel(loadScore(s), 'critic');
      const actor = loadLM(sftModelDir);
      const reference = loadLM(sftModelDir);
      const out = trainRl({
        method,
        models: { actor, reference, rewardModel: reward.scorer(), costModel, critics },
        tokenizer,
        prompts: trainPrompts,
        ptxData: data.sftTrain,
        config: { ...rlFor(method), seed: config.seed },
        outDir: stageDir,
        // per-step gold metrics of the rollouts: logged only (trainRl computes them after the update)
        judge: evalSet.judge,
        progress,
      });
      const { ev, evalSec } = await job.onMain(() => {
        savePretrained(join(stageDir, 'model'), actor, { tokenizer, trainingConfig: { rl, method: key } });
        const t0 = performance.now();
        return { ev: evaluate(actor, reference, key), evalSec: (performance.now() - t0) / 1000 };
      });
      return { log: out.log, eval: ev, truncation: out.truncation, evalSec };
    }, COLLECTIVE);
    training[key] = result.log;
    models[key] = result.eval;
    // (stages finished before evalSec was recorded count their evaluation as training)
    trainingCost[key] = { wallTimeSec: (runner.timings[key] ?? 0) - (result.evalSec ?? 0), scoreModelsSec: scoreModelsSec(make().usesCost, reward.stage), policySamples: result.log.length * rl.promptsPerStep };
  }

  // --- methods added with `methods` (DPO, SafeDPO, SACPO, …): from the SFT policy on the same labelled pairs ----
  const preferenceLogs: Record<string, PreferenceLogRecord[]> = {};
  const safetyTests: Record<string, HcSafetyTest> = {};
  const stepLogs: Record<string, StepLog> = {};
  const robust: RobustResults = {};
  // reward models judged on the evaluation side: gold test pairs, and the test pairs' per-annotator labels grouped by the hidden types
  const groupOf = (annotator: string) => evalSet.annotatorTypes[annotator] ?? 'standard';
  const judgeScores: MethodContext['judgeScores'] = {
    goldAccuracy: (model) => evaluateScoreModel('reward', model, tokenizer, evalSet.goldPairs).accuracy,
    byAnnotatorType: (trained) => compareByGroup(trained, tokenizer, evalSet.annotatorPairs, groupOf).byGroup,
    groupOf,
  };
  for (const name of PIPELINE_METHODS.filter((m) => config.methods.includes(m))) {
    const stage = METHOD_STAGES[name];
    if (!stage) continue; // an online RL method: trained above
    const out = await runner.run(name, ({ stageDir }) => {
      manualSeed(config.seed + 20);
      return stage({ config, stageDir, tokenizer, loadSft: () => loadLM(sftModelDir), pairs: prefTrain, trainPrompts, rewardModel, costModel, threshold, evaluate, sampler, evaluateResponder: evaluateWith, progress, annotatorPairs: data.annotatorPairs, sftTrain: data.sftTrain, judgeScores });
    });
    if (out.robust) Object.assign(robust, out.robust);
    Object.assign(preferenceLogs, out.preferenceLogs);
    Object.assign(safetyTests, out.safetyTests ?? {});
    Object.assign(stepLogs, out.stepLogs ?? {});
    const cost: TrainingCost = { wallTimeSec: (runner.timings[name] ?? 0) - out.evalSec, scoreModelsSec: out.needsScoreModels ? scoreModelsSec(true) : 0, policySamples: out.policySamples };
    for (const [k, ev] of Object.entries(out.models)) {
      models[k] = ev;
      trainingCost[k] = cost;
    }
  }

  // --- reward over-optimisation: long low-β runs, with and without each remedy; gold logged, never trained on ----------
  const overoptimisation = config.methods.includes('overoptimisation')
    ? await runOveroptimisation({
        runner,
        config,
        tokenizer,
        trainPrompts,
        testPrompts: evalSet.testPrompts,
        loadSft: () => loadLM(sftModelDir),
        loadScore,
        loadMembers,
        lagrange: { ...lag, threshold },
        sampler,
        judge: evalSet.judge,
        progress,
      })
    : undefined;

  // --- HC-RLHF's guarantee on the run's own models: many small runs per δ, each model's truth measured (evaluation only) ---
  if (config.methods.includes('hc_guarantee')) {
    robust.hcGuarantee = await runHcGuaranteePart({
      runner,
      config,
      setup: { loadSft: () => loadLM(sftModelDir), rewardModel, costModel, tokenizer, trainPrompts, freshPrompts: evalSet.testPrompts, judge: evalSet.judge },
      tau: threshold,
      references: { sft: () => loadLM(sftModelDir), ppo_lag: () => loadLM(join(runDir, 'ppo_lag', 'model')) },
      progress,
    });
  }

  // --- iterative rounds from the PPO-Lagrangian policy ------------------------------------------------
  const rounds = await runRounds({
    runner,
    runDir,
    config,
    tokenizer,
    trainPrompts,
    redTeamPrompts: data.redTeam,
    evalSet,
    previousTrainData: prefTrain,
    sftDir: sftModelDir,
    start: { policyDir: join(runDir, 'ppo_lag', 'model'), rewardDir: scoreDir('reward'), costDir: scoreDir('cost') },
    validation: prefValidation,
    progress,
  });
  for (const r of rounds) {
    models[`round_${r.round}`] = r.eval;
    training[`round_${r.round}`] = r.log;
  }
  const roundSummary = rounds.map((r) => ({ round: r.round, pairs: r.pairs, pairHarmfulRate: r.pairHarmfulRate, threshold: r.threshold, startCost: r.startCost ?? null, ...(r.rlaif ? { rlaif: r.rlaif } : {}) }));

  const evalItems = evalSet.testPrompts.flatMap((p) => Array.from({ length: config.eval.samplesPerPrompt }, () => p));
  // gold harmful rate per harm category of the test prompts, from each model's per-response verdicts (stages finished before it existed too)
  for (const [k, ev] of Object.entries(models)) {
    if (ev.scatter.length === evalItems.length) models[k] = { ...ev, harmfulByCategory: harmfulRateByCategory(evalItems, ev.scatter.map((p) => p.safe)) };
    else progress.log(`${k}: ${ev.scatter.length} judged responses for ${evalItems.length} evaluation items, so no harmful rates per category`);
  }
  const pipelineResult: PipelineResult = { runDir, models, scoreModels, training, timings: runner.timings, threshold, ensemble, rounds: roundSummary, preferenceData, testScatter, trainingCost, preferenceLogs, safetyTests, stepLogs, ...(overoptimisation ? { overoptimisation } : {}), ...(Object.keys(robust).length > 0 ? { robust } : {}) };
  // The report is rewritten on every run (it is cheap) so that it shows all stage timings.
  const evalPrompts = evalItems.map((p) => p.prompt);
  await job.onMain(() => writePipelineReport(runDir, pipelineResult, config, evalPrompts));
  job.barrier();
  progress.log(`report: ${join(runDir, 'report.html')} (and report.json)`);
  return pipelineResult;
}
