// Next tokens for a decoding batch whose rows carry their own temperature, top-p and random stream (inverse-CDF sampling).
import { nucleusFilter } from '../models/generate.js';
import { noGrad, tensor, tidy, type Tensor } from '../torch/index.js';
import { Rng } from '../world/rng.js';

/** How one row of a batch picks its next token. */
export interface RowSampling {
  /** 0 = greedy (argmax); otherwise logits are divided by it. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 = off. */
  topP: number;
}

/** A sequence's own random stream: the numbers it draws do not depend on what else is in the batch. */
export class SamplingStream {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  /** Uniform in (0, 1), never exactly 0 or 1. */
  uniform(): number {
    return (this.rng.nextU32() + 0.5) / 4294967296;
  }
}

/**
 * The sampling distribution of every row: softmax(nucleus_p(logits / temperature)). logits (B, V) ->
 * (B, V). Greedy rows (temperature 0) are shaped at temperature 1 (their pick is the argmax anyway).
 */
export function rowDistributions(logits: Tensor, rows: readonly RowSampling[]): Tensor {
  const b = rows.length;
  const on = { dtype: 'float32', device: logits.device } as const;
  let x = logits.div(tensor(rows.map((r) => (r.temperature > 0 ? r.temperature : 1)), on).reshape([b, 1]));
  // a row with top-p off gets p = 2, which no cumulative mass reaches: it keeps every token
  if (rows.some((r) => r.topP < 1)) x = nucleusFilter(x, tensor(rows.map((r) => (r.topP < 1 ? r.topP : 2)), on).reshape([b, 1]));
  return x.softmax(1);
}

/**
 * Next token of every row. logits: (B, V); uniforms: one number in (0, 1) per row, from the row's own
 * stream. A sampled row takes the first token whose cumulative probability reaches its uniform (so a
 * row's token depends only on its logits and its stream); a greedy row takes the argmax.
 */
export function sampleRows(logits: Tensor, rows: readonly RowSampling[], uniforms: readonly number[]): number[] {
  const b = rows.length;
  const v = logits.shape[1] as number;
  return noGrad(() =>
    tidy(() => {
      const greedy = logits.argmax(1).toNumbers();
      if (rows.every((r) => r.temperature === 0)) return greedy;
      const cum = rowDistributions(logits, rows).cumsum(1);
      const u = tensor([...uniforms], { dtype: 'float32', device: cum.device }).reshape([b, 1]);
      const sampled = cum.lt(u).sum(1).clamp(0, v - 1).toNumbers();
      return rows.map((r, i) => ((r.temperature === 0 ? greedy[i] : sampled[i]) as number));
    }),
  );
}
