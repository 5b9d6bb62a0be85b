// Pure loss functions: tensors in, { loss, metrics } out.
export { maskedMean, maskedMeanPerSequence, maskedSumPerMaxLength, MASKED_MEANS, MASKED_MEAN_UNITS, type LossAggregation, type LossOutput } from './masked.js';
export { rewardModelLoss } from './reward.js';
export { costLabelLoss, costModelLoss } from './cost.js';
export { ordinalLogProbs, ordinalLoss, orderedCutpoints, predictedLevels } from './ordinal.js';
export { preferenceLoss, type PairLogProbs, type PreferenceLossSettings, type PreferenceVariant } from './dpo.js';
export { safeDpoOrder, safeDpoOffset, type BothUnsafe, type SafeDpoPair } from './safe-dpo.js';
export { clippedPolicyLoss, k3Kl, ppoPolicyLoss, type PolicyLossOptions } from './ppo.js';
export { pairwisePolicyLoss, type PairwiseClip } from './p3o.js';
export { entropyBonus, tokenEntropy } from './entropy.js';
export { criticLoss } from './critic.js';
export { tokenCrossEntropy } from './sft.js';
export { mocanDual, mocanDualGradient, scoreMatrix, solveMocanDual, tiltedCost, type MocanDualSettings, type MocanDualSolution } from './mocan.js';
export { alolLoss, type AlolInputs, type AlolSettings, type AlolVariant } from './alol.js';
export { groupedMixtureBtLoss, headLogLosses, hedgeLogWeights, mixtureBtLoss } from './micro.js';
export { confidenceLoss, confidenceWeight, quantile } from './weak-to-strong.js';
