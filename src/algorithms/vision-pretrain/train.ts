// Pretrains a vision tower as CLIP-style towers come to LLaVA: already knowing what pictures show. Here: each glyph's shape and colour, from its patch features.
import { silentProgress, type Progress } from '../../core/progress.js';
import { Linear } from '../../models/linear.js';
import { Module } from '../../models/module.js';
import type { VisionTower } from '../../models/vision.js';
import { cat, crossEntropy, noGrad, tensor, tidy, type Tensor } from '../../torch/index.js';
import { chunks, epochBatches } from '../common/batching.js';
import { startTraining } from '../common/training-run.js';
import type { VisionPretrainConfig } from './config.js';

/** A picture with the classes of what it shows (shape and colour indices). */
export interface LabelledPicture {
  /** (1, C, H, W) pixel values. */
  pixels: Tensor;
  shape: number;
  colour: number;
}

export interface VisionPretrainLog {
  step: number;
  loss: number;
  shapeAccuracy: number;
  colourAccuracy: number;
}

/** The tower with two linear heads on its patch features at `featureLayer` (the hidden state LLaVA reads), flattened. */
class GlyphProbe extends Module {
  readonly shapeHead: Linear;
  readonly colourHead: Linear;
  private readonly patches: number;
  constructor(
    readonly tower: VisionTower,
    private readonly featureLayer: number,
    shapes: number,
    colours: number,
  ) {
    super();
    this.patches = tower.numTokens - (tower.hasClassToken ? 1 : 0);
    this.child('tower', tower);
    // the heads read every patch token (flattened), as the language model behind the projector does, not a pooled summary
    const d = tower.config.hidden_size * this.patches;
    this.shapeHead = this.child('shape_head', new Linear(d, shapes, 'out-in', { bias: true, std: 0.02 }));
    this.colourHead = this.child('colour_head', new Linear(d, colours, 'out-in', { bias: true, std: 0.02 }));
  }

  forward(pixels: Tensor): { shape: Tensor; colour: Tensor } {
    const hidden = this.tower.hiddenState(pixels, this.featureLayer);
    const pooled = hidden.narrow(1, this.tower.numTokens - this.patches, this.patches).reshape([pixels.shape[0] as number, -1]);
    return { shape: this.shapeHead.forward(pooled), colour: this.colourHead.forward(pooled) };
  }
}

function batchOf(pictures: readonly LabelledPicture[]): { pixels: Tensor; shape: Tensor; colour: Tensor } {
  return {
    pixels: cat(pictures.map((p) => p.pixels), 0),
    shape: tensor(pictures.map((p) => p.shape), { dtype: 'int64' }),
    colour: tensor(pictures.map((p) => p.colour), { dtype: 'int64' }),
  };
}

const accuracy = (logits: Tensor, labels: Tensor): number => logits.argmax(1).eq(labels).float().mean().item();

/**
 * Trains `tower` in place (with two throwaway heads) to tell the pictures' shapes and colours apart: the sum of the two
 * cross-entropies of linear heads on the patch features at `featureLayer`. Checkpoints go to `<outDir>/checkpoint` (resumable).
 * Returns the log and, on `test`, each head's accuracy.
 */
export function pretrainVisionTower(args: {
  tower: VisionTower;
  featureLayer: number;
  classes: { shapes: number; colours: number };
  train: readonly LabelledPicture[];
  test: readonly LabelledPicture[];
  config: VisionPretrainConfig;
  outDir: string;
  progress?: Progress;
}): { steps: number; log: VisionPretrainLog[]; test: { shapeAccuracy: number; colourAccuracy: number; n: number } } {
  const { config } = args;
  const progress = args.progress ?? silentProgress;
  const probe = new GlyphProbe(args.tower, args.featureLayer, args.classes.shapes, args.classes.colours);
  const { totalSteps, batchAt } = epochBatches(args.train.length, config.batchSize, config.epochs, config.seed);
  const run = startTraining<VisionPretrainLog>({ label: 'vision tower', model: probe, optim: config.optim, totalSteps, seed: config.seed, outDir: args.outDir, checkpointEvery: config.checkpointEvery, progress });
  let step = run.startStep;
  while (step < totalSteps) {
    const pictures = batchAt(step).map((i) => args.train[i] as LabelledPicture);
    const m = run.optimize(step, pictures, (share) => {
      const b = batchOf(share);
      const out = probe.forward(b.pixels);
      const loss = crossEntropy(out.shape, b.shape).add(crossEntropy(out.colour, b.colour));
      return { loss, metrics: { loss: loss.item(), shapeAccuracy: accuracy(out.shape, b.shape), colourAccuracy: accuracy(out.colour, b.colour) } };
    });
    step++;
    run.log.push({ step, loss: m.loss, shapeAccuracy: m.shapeAccuracy as number, colourAccuracy: m.colourAccuracy as number });
    progress.update(step, { loss: m.loss, shape: m.shapeAccuracy as number });
    run.checkpoint(step);
  }
  progress.stop();
  probe.eval();
  let shape = 0;
  let colour = 0;
  noGrad(() => {
    for (const chunk of chunks(args.test, 128)) {
      tidy(() => {
        const b = batchOf(chunk);
        const out = probe.forward(b.pixels);
        shape += accuracy(out.shape, b.shape) * chunk.length;
        colour += accuracy(out.colour, b.colour) * chunk.length;
      });
    }
  });
  const n = args.test.length;
  return { steps: step, log: run.log, test: { shapeAccuracy: n ? shape / n : NaN, colourAccuracy: n ? colour / n : NaN, n } };
}
