// Data parallelism over a process group: rank 0's parameters everywhere, each rank's share of a global batch, gradients and metrics combined as one process would compute them.
import { cat, tensor, zeros, type DType, type Tensor } from '../torch/index.js';
import { distributedFromEnv } from './config.js';
import { DistributedError, ProcessGroup } from './group.js';

/** Gradients travel in messages of at most this many bytes (torch DDP's default bucket is 25 MB). */
const BUCKET_BYTES = 25 * 1024 * 1024;

/** The positions [start, end) of rank `rank`'s share of `n` items: consecutive runs, the first n % worldSize ranks one longer (as torch.tensor_split). */
export function shareRange(n: number, rank: number, worldSize: number): [number, number] {
  const base = Math.floor(n / worldSize);
  const extra = n % worldSize;
  const start = rank * base + Math.min(rank, extra);
  return [start, start + base + (rank < extra ? 1 : 0)];
}

/** Consecutive runs of `tensors` of one dtype, each at most `bytes` (a tensor larger than that travels alone). */
export function buckets(tensors: readonly Tensor[], bytes = BUCKET_BYTES): Tensor[][] {
  const out: Tensor[][] = [];
  let current: Tensor[] = [];
  let size = 0;
  for (const t of tensors) {
    const b = t.numel * BYTES[t.dtype];
    const first = current[0];
    if (first && (size + b > bytes || first.dtype !== t.dtype)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += b;
  }
  if (current.length > 0) out.push(current);
  return out;
}
const BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, bool: 1 };

/**
 * One process's place in data-parallel training, or the whole job when there is one process (then every
 * method is the identity and no collective runs, so single-process results stay bit for bit what they were).
 * Every rank must make the same calls in the same order: they are collectives.
 */
export class DataParallel {
  private mainCalls = 0;

  constructor(readonly group: ProcessGroup | null) {}

  /**
   * Work that rank 0 does alone while the other ranks wait (evaluation, generation, writing files): rank 0 runs
   * `fn` as a job of one process (a trainer inside it trains on rank 0 alone) and every rank returns its result,
   * which travels as JSON (so it must be JSON data; every rank, rank 0 too, gets the parsed copy). The others wait
   * without a deadline; when `fn` throws on rank 0, they throw too. With one process: `fn()`. The result travels
   * through rank 0's store: end a job whose last collective call is onMain with a `barrier()`.
   */
  async onMain<T>(fn: () => Promise<T> | T): Promise<T> {
    if (!this.group) return fn();
    const key = `onMain/${this.mainCalls++}`;
    let text: string;
    if (this.isMain) {
      try {
        text = JSON.stringify({ value: await alone(fn) });
      } catch (e) {
        this.group.publish(key, JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
        throw e;
      }
      this.group.publish(key, text);
    } else {
      text = this.group.waitForValue(key);
    }
    const reply = JSON.parse(text) as { value?: T; error?: string };
    if (reply.error !== undefined) throw new DistributedError(`rank ${this.rank} of ${this.worldSize}: rank 0 failed in work it does alone: ${reply.error}`, this.rank, []);
    return reply.value as T;
  }

  get rank(): number {
    return this.group?.rank ?? 0;
  }
  get worldSize(): number {
    return this.group?.worldSize ?? 1;
  }
  /** Rank 0: the process that writes checkpoints, logs and model folders. */
  get isMain(): boolean {
    return this.rank === 0;
  }

  /** This rank's consecutive share of a global batch (see shareRange); the shares in rank order are the batch. */
  share<T>(batch: readonly T[]): T[] {
    const [start, end] = shareRange(batch.length, this.rank, this.worldSize);
    return batch.slice(start, end);
  }

  /**
   * What this rank computes of a global batch: its share, in whole groups of `groupSize` consecutive items
   * (P3O's pairs), or, when the share is empty (fewer groups than ranks), the batch's first group as a
   * stand-in (`standIn`), to run with weight 0 so that every rank makes the same collectives.
   */
  shareOrStandIn<T>(batch: readonly T[], groupSize = 1): { items: T[]; standIn: boolean } {
    const [start, end] = shareRange(Math.ceil(batch.length / groupSize), this.rank, this.worldSize);
    if (end > start) return { items: batch.slice(start * groupSize, end * groupSize), standIn: false };
    return { items: batch.slice(0, groupSize), standIn: true };
  }

  /**
   * Σ_i loss_i · w_i / W_i, W_i the sum of w_i over the ranks: each term a mean over this rank's w_i units
   * (tokens, sequences, pairs). Back-propagating it on every rank and summing the gradients (sumGradients)
   * gives the gradient of the whole batch's means. With one process: the plain sum of the losses, in order.
   */
  scaleShares(terms: readonly { loss: Tensor; weight: number }[]): Tensor {
    const [first, ...rest] = terms;
    if (!first) throw new RangeError('scaleShares: no loss term');
    if (!this.group) return rest.reduce((sum, t) => sum.add(t.loss), first.loss);
    const totals = this.sum(terms.map((t) => t.weight));
    const scaled = terms.map((t, i) => t.loss.mul((totals[i] as number) > 0 ? t.weight / (totals[i] as number) : 0));
    return scaled.slice(1).reduce((sum, t) => sum.add(t), scaled[0] as Tensor);
  }

  /** Returns once every rank has called it; a job's ranks call it before exiting after a last onMain, so that rank 0's store outlives the others' reads. */
  barrier(): void {
    this.group?.barrier();
  }

  /** The largest of each of `values` over the ranks. */
  max(values: readonly number[]): number[] {
    return this.reduceNumbers(values, 'max');
  }

  /**
   * Every rank's rows of `rows` (b_r, ...) stacked in rank order (Σ b_r, ...); the other dimensions and the
   * dtype must agree over the ranks. `rows` itself with one process.
   */
  gatherRows(rows: Tensor): Tensor {
    if (!this.group) return rows;
    const [b = 0, ...rest] = rows.shape;
    const counts = this.sum(Array.from({ length: this.worldSize }, (_, r) => (r === this.rank ? b : 0)));
    const most = Math.max(...counts);
    const padded = b < most ? cat([rows, zeros([most - b, ...rest], { dtype: rows.dtype, device: rows.device })], 0) : rows;
    const parts = this.group.allGather(padded.contiguous());
    return cat(parts.map((p, r) => p.narrow(0, 0, counts[r] as number)), 0);
  }

  /** Copies rank 0's values of `tensors` into every rank's (parameters at the start, so every rank begins from one model). */
  broadcast(tensors: readonly Tensor[]): void {
    if (!this.group) return;
    for (const t of tensors) this.group.broadcast(t, 0);
  }

  /**
   * Sums `values` over the ranks (a float64 message); the same numbers come back on every rank.
   * Used for weights and weighted metrics, and for any whole-batch statistic built from sums.
   */
  sum(values: readonly number[]): number[] {
    return this.reduceNumbers(values, 'sum');
  }

  /** `values` all-reduced over the ranks by `op` as one float64 message; themselves with one process. */
  private reduceNumbers(values: readonly number[], op: 'sum' | 'max'): number[] {
    if (!this.group || values.length === 0) return [...values];
    const t = tensor([...values], { dtype: 'float64' });
    try {
      this.group.allReduce(t, op);
      return t.toNumbers();
    } finally {
      t.dispose();
    }
  }

  /**
   * Sums the gradients of `params` over the ranks, in place, in buckets (one message each). A parameter
   * without a gradient on this rank must have none on every rank (it is skipped).
   */
  sumGradients(params: readonly Tensor[]): void {
    if (!this.group) return;
    const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
    try {
      for (const bucket of buckets(grads)) this.group.allReduce(bucket, 'sum');
    } finally {
      for (const g of grads) g.dispose();
    }
  }

  /**
   * Means over the whole global batch from each rank's means over its share: `metrics` are this rank's
   * means over `weight` units (tokens, pairs); returns Σ weight·metric / Σ weight for each key, and that total weight.
   */
  weightedMeans<M extends Record<string, number>>(metrics: M, weight: number): { means: M; weight: number } {
    const keys = Object.keys(metrics).sort();
    if (!this.group) return { means: metrics, weight };
    const [total = 0, ...sums] = this.sum([weight, ...keys.map((k) => (weight === 0 ? 0 : weight * (metrics[k] as number)))]);
    return { means: Object.fromEntries(keys.map((k, i) => [k, (sums[i] as number) / total])) as M, weight: total };
  }
}

/** The job of a single process: no collectives. */
export const ONE_PROCESS = new DataParallel(null);

let current: DataParallel | null = null;

/** Runs `fn` with dataParallel() returning the job of one process (rank 0's work alone, see DataParallel.onMain). */
async function alone<T>(fn: () => Promise<T> | T): Promise<T> {
  const saved = current;
  current = ONE_PROCESS;
  try {
    return await fn();
  } finally {
    current = saved;
  }
}

/**
 * This process's data-parallel job: joins the process group described by torchrun's variables (RANK,
 * WORLD_SIZE, MASTER_ADDR, MASTER_PORT, as `safealign launch` sets them) on the first call, and returns
 * the same job after; a job of one process when WORLD_SIZE is unset or 1.
 */
export function dataParallel(): DataParallel {
  if (current) return current;
  const config = distributedFromEnv();
  current = config && config.worldSize > 1 ? new DataParallel(ProcessGroup.init(config)) : ONE_PROCESS;
  return current;
}
