// A process group on libtorch's c10d: TCPStore rendezvous (rank 0 hosts it) and Gloo collectives on our tensors (NCCL when the engine runs on CUDA and the addon has it).
import { hostname } from 'node:os';
import { native, type GroupHandle, type StoreHandle } from '../torch/native.js';
import { defaultDevice } from '../torch/device.js';
import { Tensor } from '../torch/tensor.js';
import { DistributedSchema, type DistributedConfig, type DistributedOptions } from './config.js';

export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'product';

/** A peer is missing or a collective failed; `lostRanks` names the ranks that did not answer (may be empty). */
export class DistributedError extends Error {
  override name = 'DistributedError';
  constructor(
    message: string,
    readonly rank: number,
    readonly lostRanks: readonly number[],
  ) {
    super(message);
  }
}

const POLL_MS = 50;
const pause = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number): void => void Atomics.wait(pause, 0, 0, ms);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const ranksText = (ranks: readonly number[]): string => (ranks.length === 1 ? `rank ${ranks[0]}` : `ranks ${ranks.join(', ')}`);

/** Gloo's network device: GLOO_SOCKET_IFNAME as in torch, loopback for a one-machine job, else the host's address. */
function device(masterAddr: string): ['interface' | 'hostname' | 'default', string] {
  const iface = process.env.GLOO_SOCKET_IFNAME;
  if (iface) return ['interface', iface];
  if (masterAddr === 'localhost' || masterAddr.startsWith('127.')) return ['hostname', '127.0.0.1'];
  return ['default', ''];
}

/**
 * The collective backend for the engine's device (see setDefaultDevice): NCCL on a GPU when this build has it (as
 * torch.distributed's default), else Gloo, which also reduces CUDA tensors (through host memory) in CUDA builds of libtorch.
 */
function groupBackend(): 'gloo' | 'nccl' {
  return defaultDevice().startsWith('cuda') && native.hasNccl ? 'nccl' : 'gloo';
}

/**
 * One process of a data-parallel job. `ProcessGroup.init` blocks until every rank has joined (or fails naming the
 * missing ones after the timeout); collectives block until every rank has called them, like torch.distributed's.
 * After a failed collective the group is broken: every later call rethrows the first error.
 */
export class ProcessGroup {
  private broken: DistributedError | null = null;
  private ops = 0;

  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    readonly localRank: number,
    /** host:port of the store, as the ranks reach it */
    readonly storeAddress: string,
    private readonly store: StoreHandle,
    private readonly group: GroupHandle,
    private readonly timeoutMs: number,
    /** gloo (CPU tensors), or nccl when the engine runs on CUDA and the addon was built with NCCL */
    readonly backend: 'gloo' | 'nccl' = 'gloo',
  ) {}

  /** Joins the job described by `options` (see DistributedSchema; `distributedFromEnv()` reads torchrun's variables). */
  static init(options: DistributedOptions): ProcessGroup {
    const config: DistributedConfig = DistributedSchema.parse(options);
    const { rank, worldSize, masterAddr } = config;
    const timeoutMs = Math.round(config.timeoutSeconds * 1000);
    const joinMs = Math.round(config.joinTimeoutSeconds * 1000);
    const who = `rank ${rank} of ${worldSize}`;
    if (!native.hasGloo) {
      throw new DistributedError(`${who}: this build of the engine has no Gloo; install libgloo-dev (Debian/Ubuntu) and run \`npm run build:native\``, rank, []);
    }
    let store: StoreHandle;
    try {
      store = native.storeCreate(masterAddr, config.masterPort, rank === 0, joinMs);
    } catch (e) {
      const what =
        rank === 0
          ? `cannot host the rendezvous store on ${masterAddr}:${config.masterPort} (${message(e)}); pick another MASTER_PORT`
          : `cannot reach rank 0's rendezvous store at ${masterAddr}:${config.masterPort} within ${config.joinTimeoutSeconds} s (${message(e)}); is rank 0 running, with the same MASTER_ADDR and MASTER_PORT?`;
      throw new DistributedError(`${who}: ${what}`, rank, rank === 0 ? [] : [0]);
    }
    const address = `${masterAddr}:${native.storePort(store)}`;
    const storeLost = (e: unknown) =>
      new DistributedError(`${who}: lost the rendezvous store of rank 0 at ${address} (${message(e)}); rank 0 has exited or is unreachable`, rank, [0]);
    try {
      if (native.storeAdd(store, `claimed/${rank}`, 1) > 1) {
        throw new DistributedError(`${who}: another process already joined as rank ${rank} (${native.storeGet(store, `join/${rank}`)}); give each process its own RANK`, rank, []);
      }
      native.storeSet(store, `join/${rank}`, `${hostname()} pid ${process.pid}`);
      if (rank === 0) native.storeSet(store, 'world_size', String(worldSize));
      const missing = waitForKeys(store, ranksUpTo(worldSize).map((r) => `join/${r}`), joinMs);
      if (missing.length > 0) {
        const ranks = missing.map((k) => Number(k.slice('join/'.length)));
        throw new DistributedError(
          `${who}: ${ranksText(ranks)} did not join within ${config.joinTimeoutSeconds} s (rendezvous at ${address}); start every rank with the same WORLD_SIZE, MASTER_ADDR and MASTER_PORT`,
          rank,
          ranks,
        );
      }
      const theirs = Number(native.storeGet(store, 'world_size'));
      if (theirs !== worldSize) throw new DistributedError(`${who}: rank 0 was started with WORLD_SIZE=${theirs}, this process with ${worldSize}; give every rank the same WORLD_SIZE`, rank, []);
    } catch (e) {
      throw e instanceof DistributedError ? e : storeLost(e);
    }
    const backend = groupBackend();
    let group: GroupHandle;
    try {
      group = native.groupCreate(store, `${backend}/`, rank, worldSize, timeoutMs, ...device(masterAddr), backend);
    } catch (e) {
      const hint = backend === 'gloo' ? 'set GLOO_SOCKET_IFNAME to the network interface the ranks share' : 'see NCCL_DEBUG=INFO for why; NCCL_SOCKET_IFNAME names the network interface';
      throw new DistributedError(`${who}: ${backend === 'gloo' ? 'Gloo' : 'NCCL'} could not connect the ranks (${message(e)}); ${hint}`, rank, []);
    }
    return new ProcessGroup(rank, worldSize, config.localRank, address, store, group, timeoutMs, backend);
  }

  /** Reduces `tensors` over every rank, in place (several tensors of one dtype travel as one message). avg = sum / worldSize. */
  allReduce(tensors: Tensor | readonly Tensor[], op: ReduceOp = 'sum'): void {
    const list = tensors instanceof Tensor ? [tensors] : tensors;
    const dtypes = new Set(list.map((t) => t.dtype));
    if (dtypes.size > 1) throw new TypeError(`allReduce: tensors reduced together need one dtype (got ${[...dtypes].join(', ')})`);
    this.run(`allReduce(${op})`, () => native.allReduce(this.group, list.map((t) => t.handle), op));
  }

  /** Copies rank `root`'s `tensor` into every rank's, in place. */
  broadcast(tensor: Tensor, root = 0): void {
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) throw new RangeError(`broadcast: root ${root} is not a rank of this group (0..${this.worldSize - 1})`);
    this.run(`broadcast(root ${root})`, () => native.broadcast(this.group, [tensor.handle], root));
  }

  /** Every rank's `tensor` (same shape and dtype on every rank), in rank order. */
  allGather(tensor: Tensor): Tensor[] {
    return this.run('allGather', () => native.allGather(this.group, [tensor.handle])).map((h) => new Tensor(h));
  }

  /** Returns once every rank has called it. */
  barrier(): void {
    this.run('barrier', () => native.barrier(this.group));
  }

  /** Leaves `value` under `key` in the rendezvous store for the other ranks (see waitForValue). */
  publish(key: string, value: string): void {
    this.viaStore(() => native.storeSet(this.store, `published/${key}`, value));
  }

  /**
   * The value some rank publishes under `key`, waiting for it without a deadline (the publisher may work for
   * hours, e.g. rank 0 evaluating while the others wait) but failing, naming rank 0, as soon as its store is gone.
   */
  waitForValue(key: string): string {
    const k = `published/${key}`;
    return this.viaStore(() => {
      while (!native.storeCheck(this.store, [k])) sleep(4 * POLL_MS);
      return native.storeGet(this.store, k);
    });
  }

  private viaStore<T>(fn: () => T): T {
    if (this.broken) throw this.broken;
    try {
      return fn();
    } catch (e) {
      this.broken = new DistributedError(`rank ${this.rank} of ${this.worldSize}: rank 0 has exited: the rendezvous store it hosts at ${this.storeAddress} no longer answers (${message(e)})`, this.rank, [0]);
      throw this.broken;
    }
  }

  private run<T>(op: string, fn: () => T): T {
    if (this.broken) throw this.broken;
    this.ops++;
    try {
      return fn();
    } catch (e) {
      if (e instanceof Error && e.name !== 'TorchError') throw e; // our own argument errors leave the group usable
      this.broken = this.diagnose(`${op} (collective #${this.ops})`, e);
      throw this.broken;
    }
  }

  /**
   * After a failed collective every surviving rank checks in under `lost/`; the ranks that do not within the
   * timeout have exited or hang. If the store itself is gone, rank 0 (its host) is the one lost.
   */
  private diagnose(op: string, cause: unknown): DistributedError {
    const who = `rank ${this.rank} of ${this.worldSize}`;
    const seconds = this.timeoutMs / 1000;
    let lost: number[];
    let why: string;
    try {
      native.storeSet(this.store, `lost/${this.rank}`, '1');
      lost = waitForKeys(this.store, ranksUpTo(this.worldSize).map((r) => `lost/${r}`), this.timeoutMs).map((k) => Number(k.slice('lost/'.length)));
      why =
        lost.length === 0
          ? 'every rank is still running, so the collective itself failed (do all ranks call the same collectives on tensors of the same shape and dtype?)'
          : `${ranksText(lost)} did not answer within ${seconds} s: exited or hangs`;
    } catch {
      lost = [0];
      why = `rank 0 has exited: the rendezvous store it hosts at ${this.storeAddress} no longer answers`;
    }
    return new DistributedError(`${who}: ${op} failed: ${why} (Gloo: ${message(cause)})`, this.rank, lost);
  }
}

function ranksUpTo(n: number): number[] {
  return Array.from({ length: n }, (_, r) => r);
}

/** Polls the store until every key exists or `timeoutMs` passes; returns the keys still missing. */
function waitForKeys(store: StoreHandle, keys: string[], timeoutMs: number): string[] {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (native.storeCheck(store, keys)) return [];
    if (Date.now() >= deadline) return keys.filter((k) => !native.storeCheck(store, [k]));
    sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
  }
}
