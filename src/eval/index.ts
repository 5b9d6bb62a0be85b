// Evaluation: gold world metrics, Elo, the arena, evaluation of model folders, summaries, plots and HTML helpers for reports.
export { worldMetrics, goldHeadToHead, type WorldMetrics, type JudgedResponse } from './world-metrics.js';
export { playArena, compareScores, scoreJudge, type ArenaResult, type PairOutcome, type PairJudge } from './arena.js';
export { distinctN, meanCosineDistance, meanPool, pairwiseRougeL, rougeL, selfBleu, sentenceBleu, textDiversity, withinGroupDiversity, type TextDiversity } from './diversity.js';
export { embeddingDiversity, embedTexts, type Embedder, type EmbeddingDiversity } from './embedding-diversity.js';
export { bradleyTerryElo, eloWithIntervals, type Match, type EloRating } from './elo.js';
export { wilsonInterval, paretoFrontier } from './summary.js';
export { renderSvg, trainingCurves, lagrangeTrace, rewardCostScatter, modelBars, frontierPlot, eloPlot } from './plots.js';
export { evaluateModels, type EvalModelsReport, type ModelSummary, type JudgeArena } from './evaluate-models.js';
export { bestOfNEvaluation, type BestOfNReport, type BestOfNRow } from './best-of-n.js';
export { BestOfNConfigSchema, type BestOfNConfig } from './best-of-n-config.js';
export { EvalModelsConfigSchema, type EvalModelsConfig } from './models-config.js';
export { sampleAndScore, scoreTexts, fitEvalPrompts, type ModelResponses, type Policy, type Scorer } from './model-responses.js';
export { overoptCurve, goldPeak, bestOfNCurve, type OveroptPoint, type OveroptRecord, type GoldPeak, type BonPoint, type BonSample } from './overoptimisation.js';
