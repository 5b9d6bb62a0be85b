// safealign's public API: the engine, models, data, the built-in world, losses and RL maths, trainers,
// evaluation, the pipeline and the annotation server. Everything the CLI does is callable from here.
export * from './torch/index.js';
export * from './models/index.js';
export * as data from './data/index.js';
export * as world from './world/index.js';
export * from './losses/index.js';
export * from './rl/index.js';
export * from './eval/index.js';
export { SftConfigSchema, type SftConfig } from './algorithms/sft/config.js';
export { trainSft, evaluateLoss, type SftExample, type SftResult } from './algorithms/sft/train.js';
export { ScoreConfigSchema, type ScoreConfig } from './algorithms/score/config.js';
export { trainScoreModel, evaluateScoreModel, type ScoreKind, type ScoreEval } from './algorithms/score/train.js';
export { ScoreEnsemble, warmAverage, type EnsembleReduction } from './algorithms/score/ensemble.js';
export { RlConfigSchema, type RlConfig } from './algorithms/rl/config.js';
export { trainRl, decodeResponses, RlDivergedError, type RlPrompt, type RlLogRecord, type RlModels, type GoldJudge } from './algorithms/rl/train.js';
export type { RlMethod, ScoredRollout, StreamName } from './algorithms/rl/method.js';
export * from './algorithms/rl/phases.js';
export { ppoMethod } from './algorithms/ppo/method.js';
export { ppoLagMethod } from './algorithms/ppo-lag/method.js';
export { rewardShapingMethod } from './algorithms/reward-shaping/method.js';
export { PipelineConfigSchema, type PipelineConfig } from './pipeline/config.js';
export { runPipeline, type PipelineResult, type RunOptions } from './pipeline/run.js';
export { StageRunner } from './pipeline/stages.js';
export { addSchemaOptions, resolveConfig, ConfigError } from './config/schema-cli.js';
export { silentProgress, type Progress } from './core/progress.js';
export * as annotate from './annotate/index.js';
