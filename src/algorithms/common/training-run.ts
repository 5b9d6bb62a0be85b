// The start and the optimiser step of a supervised trainer (SFT, score models, DPO, A-LoL): AdamW, schedule, resume, seed, checkpoints.
import { join } from 'node:path';
import type { Progress } from '../../core/progress.js';
import type { LossOutput } from '../../losses/index.js';
import type { Module } from '../../models/module.js';
import { AdamW, clipGradNorm, lrSchedule, manualSeed, tidy, type Tensor } from '../../torch/index.js';
import { resumeTraining, saveTraining } from './checkpoint.js';
import type { OptimConfig } from './optim-config.js';

/** The learning-rate multiplier of an optimiser section at 0-based step `step` of `totalSteps` (warm-up, then constant, linear or cosine). */
export function optimSchedule(optim: OptimConfig, totalSteps: number): (step: number) => number {
  return lrSchedule({ kind: optim.schedule, warmupSteps: Math.round(optim.warmupRatio * totalSteps), totalSteps });
}

/** A trainer's running state: where to continue from and how to take a step. */
export interface TrainingRun<L> {
  /** The step to continue from: 0, or the step of the checkpoint found in `<outDir>/checkpoint`. */
  readonly startStep: number;
  /** The log so far (the checkpoint's on resume); the trainer appends to it. */
  readonly log: L[];
  /**
   * One optimiser step at 0-based `step`: sets the scheduled learning rate, puts the model in
   * training mode, and inside one tensor scope zeroes the gradients, runs `loss`, back-propagates,
   * clips the global gradient norm and steps AdamW. Returns the loss, its metrics and the rate used.
   */
  optimize(step: number, loss: () => LossOutput): Record<string, number> & { loss: number; lr: number };
  /** Saves the checkpoint when `done` steps are a multiple of `checkpointEvery`, or all of them. */
  checkpoint(done: number): void;
}

/**
 * AdamW over `model`'s trainable parameters with `optim`'s schedule over `totalSteps`; resumes model,
 * optimiser, step and log from `<outDir>/checkpoint` when one is there (logging `<label>: resuming
 * from step N`), seeds torch with `seed + step` and starts the progress bar at that step.
 */
export function startTraining<L>(args: {
  label: string;
  model: Module;
  optim: OptimConfig;
  totalSteps: number;
  seed: number;
  outDir: string;
  checkpointEvery: number;
  progress: Progress;
}): TrainingRun<L> {
  const { model, optim, totalSteps, progress } = args;
  const params: Tensor[] = model.trainableParameters();
  const opt = new AdamW(params, { lr: optim.lr, weightDecay: optim.weightDecay });
  const schedule = optimSchedule(optim, totalSteps);
  const ckptDir = join(args.outDir, 'checkpoint');
  const resumed = resumeTraining<L>(ckptDir, model, opt);
  const startStep = resumed?.step ?? 0;
  const log: L[] = resumed?.log ?? [];
  if (resumed) progress.log(`${args.label}: resuming from step ${startStep} (${ckptDir})`);
  manualSeed(args.seed + startStep);
  progress.start(args.label, totalSteps);
  progress.update(startStep);
  return {
    startStep,
    log,
    optimize(step, loss) {
      const lr = optim.lr * schedule(step);
      opt.lr = lr;
      model.train();
      const metrics = tidy(() => {
        opt.zeroGrad();
        const out = loss();
        out.loss.backward();
        clipGradNorm(params, optim.gradClip);
        opt.step();
        return { ...out.metrics, loss: out.loss.item() };
      });
      return { ...metrics, lr };
    },
    checkpoint(done) {
      if (done % args.checkpointEvery === 0 || done === totalSteps) saveTraining(ckptDir, done, log, model, opt);
    },
  };
}
