// RL maths: KL shaping, GAE, advantage combination, Lagrange multiplier, normalisers.
export { klShapedScores } from './kl-shaping.js';
export { gae } from './gae.js';
export { combineAdvantages, whitenAdvantages } from './advantage.js';
export { DEFAULT_LAGRANGE, LagrangeMultiplier, type LagrangeConfig, type LagrangeState } from './lagrange.js';
export { CategoryLagrange, type CategoryUpdate } from './category-lagrange.js';
export { RunningNormalizer, type NormalizeKind, type NormalizerState } from './normalizer.js';
export { reduceEnsemble, type EnsembleReduce, type EnsembleReduction, type Worse } from './ensemble.js';
export { batchZScore, groupAdvantages, leaveOneOutAdvantages, normaliseThenSum, type GroupScale } from './group.js';
export { hcInflation, meanStd, safetyTest, type SafetyTestResult } from './hc-rlhf.js';
