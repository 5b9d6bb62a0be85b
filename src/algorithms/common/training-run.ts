// The start and the optimiser step of a supervised trainer (SFT, score models, DPO, A-LoL): AdamW, schedule, resume, seed, checkpoints, data parallelism.
import { join } from 'node:path';
import type { Progress } from '../../core/progress.js';
import { dataParallel, type DataParallel } from '../../distributed/data-parallel.js';
import type { LossOutput } from '../../losses/index.js';
import type { Module } from '../../models/module.js';
import { AdamW, clipGradNorm, lrSchedule, manualSeed, tidy, type Tensor } from '../../torch/index.js';
import { resumeTraining, saveTraining } from './checkpoint.js';
import type { OptimConfig } from './optim-config.js';

/** The learning-rate multiplier of an optimiser section at 0-based step `step` of `totalSteps` (warm-up, then constant, linear or cosine). */
export function optimSchedule(optim: OptimConfig, totalSteps: number): (step: number) => number {
  return lrSchedule({ kind: optim.schedule, warmupSteps: Math.round(optim.warmupRatio * totalSteps), totalSteps });
}

/** A loss on one rank's share of a global batch: a mean over `weight` units (tokens, pairs; default: the share's items). */
export interface ShareLoss extends LossOutput {
  weight?: number;
}

/** A trainer's running state: where to continue from and how to take a step. */
export interface TrainingRun<L> {
  /** The data-parallel job (one process unless started by `safealign launch` or torchrun). */
  readonly job: DataParallel;
  /** The step to continue from: 0, or the step of the checkpoint found in `<outDir>/checkpoint`. */
  readonly startStep: number;
  /** The log so far (the checkpoint's on resume); the trainer appends to it. */
  readonly log: L[];
  /**
   * One optimiser step at 0-based `step` on the global `batch`: sets the scheduled learning rate, puts
   * the model in training mode, and inside one tensor scope zeroes the gradients, runs `loss` on this
   * rank's share of the batch, back-propagates, clips the global gradient norm and steps AdamW.
   * With several processes, each rank's loss is scaled by its share of the batch's weight before
   * back-propagation and the gradients are summed over the ranks, so the step is the one a single
   * process takes on the whole batch; a rank whose share is empty runs the batch's first item with
   * weight 0. Returns the loss and metrics (weighted means over the whole batch) and the rate used.
   */
  optimize<T>(step: number, batch: readonly T[], loss: (share: readonly T[]) => ShareLoss): Record<string, number> & { loss: number; lr: number };
  /** Saves the checkpoint (rank 0 alone) when `done` steps are a multiple of `checkpointEvery`, or all of them. */
  checkpoint(done: number): void;
}

/**
 * AdamW over `model`'s trainable parameters with `optim`'s schedule over `totalSteps`; resumes model,
 * optimiser, step and log from `<outDir>/checkpoint` when one is there (logging `<label>: resuming
 * from step N`), seeds torch with `seed + step` and starts the progress bar at that step.
 * With several processes every rank reads the checkpoint (so `outDir` must be on storage every node
 * sees), they must agree on the step, and rank 0's parameters are copied to all of them.
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
  const job = dataParallel();
  const resumed = resumeTraining<L>(ckptDir, model, opt);
  const startStep = resumed?.step ?? 0;
  const log: L[] = resumed?.log ?? [];
  agreeOnStart(job, startStep, ckptDir);
  job.broadcast(model.parameters());
  if (resumed) progress.log(`${args.label}: resuming from step ${startStep} (${ckptDir})`);
  manualSeed(args.seed + startStep);
  progress.start(args.label, totalSteps);
  progress.update(startStep);
  return {
    job,
    startStep,
    log,
    optimize(step, batch, loss) {
      const lr = optim.lr * schedule(step);
      opt.lr = lr;
      model.train();
      const metrics = tidy(() => {
        opt.zeroGrad();
        const share = job.shareOrStandIn(batch);
        const out = loss(share.items);
        const weight = share.standIn ? 0 : (out.weight ?? share.items.length);
        job.scaleShares([{ loss: out.loss, weight }]).backward();
        job.sumGradients(params);
        clipGradNorm(params, optim.gradClip);
        opt.step();
        return job.weightedMeans({ ...out.metrics, loss: out.loss.item() }, weight).means;
      });
      return { ...metrics, lr };
    },
    checkpoint(done) {
      if (job.isMain && (done % args.checkpointEvery === 0 || done === totalSteps)) saveTraining(ckptDir, done, log, model, opt);
    },
  };
}

/** Every rank starts from rank 0's step, or every rank fails saying which did not find that checkpoint. */
export function agreeOnStart(job: DataParallel, step: number, ckptDir: string): void {
  if (job.worldSize === 1) return;
  const [rank0Step = 0] = job.sum([job.isMain ? step : 0]);
  const mismatch = job.sum(Array.from({ length: job.worldSize }, (_, r) => (r === job.rank && step !== rank0Step ? step + 1 : 0)));
  const bad = mismatch.flatMap((m, r) => (m > 0 ? [`rank ${r} found ${m === 1 ? 'no checkpoint' : `step ${m - 1}`}`] : []));
  if (bad.length > 0) {
    throw new Error(`${ckptDir}: rank 0 resumes from ${rank0Step ? `step ${rank0Step}` : 'the start (no checkpoint)'} but ${bad.join(', ')}; every rank reads the checkpoint, so put the output folder on storage every node shares`);
  }
}
