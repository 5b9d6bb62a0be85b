// Engine behaviour: errors surface as TorchError, dtype conversions, seeds, memory scopes and a flat-RSS training loop.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  ones,
  TorchError,
  arange,
  fromBuffer,
  keep,
  manualSeed,
  memoryStats,
  noGrad,
  isGradEnabled,
  randn,
  tensor,
  tidy,
  chain,
  zeros,
  crossEntropy,
  linear,
  randint,
  type Tensor,
} from '../../src/torch/index.js';
import { native } from '../../src/torch/native.js';

describe('errors', () => {
  it('a shape mismatch is a TorchError carrying libtorch message, not a crash', () => {
    const a = randn([2, 3]);
    const b = randn([4, 5]);
    expect(() => a.matmul(b)).toThrow(TorchError);
    expect(() => a.matmul(b)).toThrow(/shapes cannot be multiplied \(2x3 and 4x5\)/);
    expect(() => a.add(randn([7]))).toThrow(/size of tensor a \(3\) must match the size of tensor b \(7\)/);
  });
  it('a wrong dtype is a TorchError', () => {
    expect(() => crossEntropy(randn([2, 3]), tensor([0.5, 1]))).toThrow(TorchError);
  });
  it('using a disposed tensor throws a clear error', () => {
    const t = randn([2]);
    t.dispose();
    t.dispose();
    expect(() => t.add(1)).toThrow(/tensor used after dispose\(\)/);
  });
  it('fromBuffer checks the byte count', () => {
    expect(() => fromBuffer(new Uint8Array(5), 'float32', [2])).toThrow(/5 bytes given but shape needs 8/);
  });
});

describe('threads', () => {
  it('a second JS thread loading the engine gets a clear error (the tensor table is per process)', async () => {
    const addon = fileURLToPath(new URL('../../native/build/Release/safealign_torch.node', import.meta.url));
    const code = `const { parentPort } = require('node:worker_threads');
      try { require(${JSON.stringify(addon)}); parentPort.postMessage('loaded'); } catch (e) { parentPort.postMessage(e.message); }`;
    const reply = await new Promise<string>((resolve, reject) => {
      const w = new Worker(code, { eval: true });
      w.once('message', (m: string) => void w.terminate().then(() => resolve(m)));
      w.once('error', reject);
    });
    expect(reply).toMatch(/already loaded by another JS thread/);
    expect(ones([2]).sum().item()).toBe(2); // the main thread's engine is unaffected
  });
});

describe('dtypes and conversion', () => {
  it('round-trips every dtype through typed arrays', () => {
    expect([...tensor(Float64Array.from([1.5, -2])).toFloat64Array()]).toEqual([1.5, -2]);
    expect([...tensor(Int32Array.from([1, -2])).toInt32Array()]).toEqual([1, -2]);
    expect([...tensor(BigInt64Array.from([2n ** 60n, -3n])).toBigInt64Array()]).toEqual([2n ** 60n, -3n]);
    expect([...tensor([true, false, true]).toBoolArray()]).toEqual([1, 0, 1]);
    expect(tensor([[1, 2], [3, 4]], { dtype: 'int64' }).toArray()).toEqual([[1, 2], [3, 4]]);
  });
  it('checks int64 conversions to JS numbers', () => {
    expect(() => tensor([2 ** 60], { dtype: 'int64' })).toThrow(/not a safe integer/);
    expect(() => tensor(BigInt64Array.from([2n ** 60n])).toNumbers()).toThrow(/does not fit a JS number exactly/);
  });
  it('integer scalars keep integer tensors integer; fractional ones promote like PyTorch', () => {
    const i = arange(0, 4);
    expect(i.dtype).toBe('int64');
    expect(i.add(1).dtype).toBe('int64');
    expect(i.mul(0.5).dtype).toBe('float32');
  });
  it('rejects ragged nested arrays', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
  });
});

describe('seeds', () => {
  it('the same seed gives the same numbers bit for bit', () => {
    manualSeed(42);
    const a = randn([100]).toFloat32Array();
    const ia = randint(0, 50, [20]).toNumbers();
    manualSeed(42);
    const b = randn([100]).toFloat32Array();
    const ib = randint(0, 50, [20]).toNumbers();
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(ia).toEqual(ib);
    manualSeed(43);
    expect(Buffer.from(randn([100]).toFloat32Array().buffer).equals(Buffer.from(a.buffer))).toBe(false);
  });
});

describe('autograd switches', () => {
  it('noGrad turns recording off and restores it, also on throw', () => {
    const w = randn([3], { requiresGrad: true });
    const y = noGrad(() => w.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(() => noGrad(() => { throw new Error('x'); })).toThrow('x');
    expect(isGradEnabled()).toBe(true);
    expect(w.mul(2).requiresGrad).toBe(true);
  });
});

describe('memory', () => {
  it('tidy frees everything created inside except what it returns (nested)', () => {
    const before = memoryStats().liveTensors;
    const kept = tidy(() => {
      const a = randn([10]);
      const inner = tidy(() => {
        const b = a.mul(2);
        return { b, junk: 1 };
      });
      a.add(1);
      return [inner.b];
    });
    expect(memoryStats().liveTensors).toBe(before + 1);
    expect(kept[0]?.shape).toEqual([10]);
    kept[0]?.dispose();
    expect(memoryStats().liveTensors).toBe(before);
  });
  it('keep() lets a tensor survive its scope; a throwing scope still frees', () => {
    const before = memoryStats().liveTensors;
    let saved = zeros([1]);
    saved.dispose();
    tidy(() => {
      saved = keep(randn([4]));
      randn([4]);
    });
    expect(saved.shape).toEqual([4]);
    expect(() => tidy(() => { randn([3]); throw new Error('boom'); })).toThrow('boom');
    expect(memoryStats().liveTensors).toBe(before + 1);
  });
  it('a stale handle stays an error after its slot is reused by a new tensor', () => {
    const a = randn([2]);
    const stale = a.handle;
    a.dispose();
    const b = randn([3]);
    expect(() => native.shape(stale)).toThrow(/after dispose/);
    expect(native.isDisposed(stale)).toBe(true);
    native.dispose(stale); // a no-op, not a free of b
    expect(b.shape).toEqual([3]);
    expect(b.isDisposed).toBe(false);
    b.dispose();
  });
  it('chain() frees each intermediate once the next op has used it, never its input or result; gradients are unchanged', () => {
    const w = randn([4, 4]).requiresGrad_(true);
    const x = randn([3, 4]);
    const seen: Tensor[] = [];
    const before = memoryStats().liveTensors;
    const y = chain(
      x,
      (t) => t.matmul(w),
      (t) => (seen.push(t), t.tanh()),
      (t) => t, // a step may hand its input on
      (t) => (seen.push(t), t.mul(3)),
      (t) => t.sum(),
    );
    expect(seen.map((t) => t.isDisposed)).toEqual([true, true]);
    expect(x.isDisposed).toBe(false);
    expect(memoryStats().liveTensors).toBe(before + 1); // only y
    y.backward();
    const viaChain = w.grad!.toArray();
    w.clearGrad();
    tidy(() => x.matmul(w).tanh().mul(3).sum().backward());
    expect(w.grad!.toArray()).toEqual(viaChain);
  });
  it('a 1,000-step training loop keeps RSS flat (< 40 MB growth after warm-up) and frees every step tensor', () => {
    manualSeed(0);
    const w1 = randn([64, 32], { requiresGrad: true });
    const w2 = randn([10, 64], { requiresGrad: true });
    const opt = new AdamW([w1, w2], { lr: 1e-3 });
    const step = () =>
      tidy(() => {
        const x = randn([32, 32]);
        const y = randint(0, 10, [32]);
        opt.zeroGrad();
        const loss = crossEntropy(linear(linear(x, w1).relu(), w2), y);
        loss.backward();
        opt.step();
      });
    for (let i = 0; i < 100; i++) step();
    global.gc?.();
    const live = memoryStats().liveTensors;
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) step();
    global.gc?.();
    const growth = (process.memoryUsage().rss - rss0) / 2 ** 20;
    expect(memoryStats().liveTensors).toBe(live);
    expect(growth).toBeLessThan(40);
  });

  it('frees tensors nobody disposed once their memory adds up (finalizers, driven by external-memory reports)', async () => {
    const rss0 = process.memoryUsage().rss;
    let peak = 0;
    // 3 GiB of 16 MiB tensors, none disposed: V8 hears of them in 256 MiB steps and collects them.
    for (let i = 0; i < 192; i++) {
      // created outside any scope, returned from the outermost tidy(), or kept inside one
      if (i % 3 === 0) void ones([4 * 2 ** 20]).mul(2).sum().item();
      else if (i % 3 === 1) void tidy(() => ones([4 * 2 ** 20]).mul(2));
      else tidy(() => void keep(ones([4 * 2 ** 20])));
      if (i % 16 === 0) {
        await new Promise((r) => setImmediate(r)); // let finalizers run, as an event loop would
        peak = Math.max(peak, process.memoryUsage().rss);
      }
    }
    expect((peak - rss0) / 2 ** 20).toBeLessThan(1536);
  });
});
