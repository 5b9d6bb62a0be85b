// Evaluation: gold world metrics, Elo, summaries, plots and HTML helpers for reports.
export { worldMetrics, goldHeadToHead, type WorldMetrics, type JudgedResponse } from './world-metrics.js';
export { playArena, compareScores, scoreJudge, type ArenaResult, type PairOutcome, type PairJudge } from './arena.js';
export { distinctN } from './diversity.js';
export { bradleyTerryElo, eloWithIntervals, type Match, type EloRating } from './elo.js';
export { wilsonInterval, paretoFrontier } from './summary.js';
export { renderSvg, trainingCurves, lagrangeTrace, rewardCostScatter, modelBars, frontierPlot, eloPlot } from './plots.js';
