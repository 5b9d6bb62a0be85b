// The phases of an RL step, for composing methods and running one step on a given rollout.
export { sampleRollout, fixedRollout, responseSlice, type Rollout } from './rollout.js';
export { scoreRollout, methodView, type RolloutScores } from './scoring.js';
export { estimateAdvantages, actorAdvantages, type StreamAdvantages } from './advantages.js';
export { updateConstraint } from './constraint.js';
export { actorStep, ptxLoss, type ActorBatch, type ActorStepResult } from './actor-update.js';
export { criticStep, type CriticBatch } from './critic-update.js';
export { ppoUpdate, type UpdateTargets, type UpdateResult } from './ppo-update.js';
export { stepRecord } from './step-log.js';
export { rlStep, type StepTrace } from './step.js';
export { createRlContext, setLearningRates, type RlContext } from './context.js';
export { methodCritics, type StreamCritics } from './models.js';
