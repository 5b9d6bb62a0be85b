// The server's sampler against PyTorch, and continuous batching against one-at-a-time decoding (greedy: the golden-tested `generate`).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CausalLM, generate, loadPretrained } from '../../src/models/index.js';
import { Batcher, QueueFullError, type FinishReason, type SequenceRequest } from '../../src/serve/batcher.js';
import { rowDistributions, sampleRows } from '../../src/serve/sampling.js';
import { memoryStats, tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';

const golden = JSON.parse(readFileSync('reference/golden/serve_sampling.json', 'utf8')) as {
  logits: number[][];
  temperature: number[];
  topP: number[];
  uniforms: number[];
  probs: number[][];
  tokens: number[];
};

describe('per-row sampling (reference/serve_sampling.py)', () => {
  const rows = golden.temperature.map((temperature, i) => ({ temperature, topP: golden.topP[i] as number }));
  it('shapes every row with its own temperature and top-p', () => {
    expectAllClose(rowDistributions(tensor(golden.logits), rows), golden.probs, { atol: 1e-6 });
  });
  it('picks the first token whose cumulative probability reaches the row uniform (argmax at temperature 0)', () => {
    expect(sampleRows(tensor(golden.logits), rows, golden.uniforms)).toEqual(golden.tokens);
  });
});

const lm = loadPretrained('reference/golden/tiny-gpt2').model as CausalLM;
/** Prompts of different lengths over the tiny model's 40-token vocabulary. */
const PROMPTS = [[5, 9, 13, 7], [3, 22, 8], [11, 12, 13, 14, 15, 16, 17], [30], [6, 6, 9, 21, 33]];

interface Result {
  tokens: number[];
  reason: FinishReason;
}

/** Submits one sequence; resolves with its tokens and finish reason. `onToken` may act on each token (e.g. submit another). */
function decode(b: Batcher, req: Partial<SequenceRequest> & { promptIds: number[] }, onToken?: (n: number) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const tokens: number[] = [];
    b.submit({
      maxTokens: 12,
      temperature: 0,
      topP: 1,
      seed: 0,
      ...req,
      onToken: (t) => {
        tokens.push(t);
        onToken?.(tokens.length);
      },
      onEnd: (reason, error) => (error ? reject(error) : resolve({ tokens, reason })),
    });
  });
}

describe('continuous batching', () => {
  it('greedy decoding in a shared batch, with sequences joining mid-way, equals generate() one prompt at a time', async () => {
    const expected = PROMPTS.map((p) => {
      const out = generate(lm, tensor([p], { dtype: 'int64' }), tensor([p.map(() => 1)], { dtype: 'int64' }), { maxNewTokens: 12, greedy: true, padId: 0 });
      return out.sequences.narrow(1, p.length, 12).toNumbers();
    });
    const b = new Batcher(lm, { maxBatch: 8, maxWaiting: 64, stopTokenIds: [], padId: 0 });
    const late: Promise<Result>[] = [];
    // the first two start together; the others join after the first has 3 and 7 tokens (longer and shorter prompts than the batch's)
    const first = decode(b, { promptIds: PROMPTS[0] as number[] }, (n) => {
      if (n === 3) late.push(decode(b, { promptIds: PROMPTS[2] as number[] }), decode(b, { promptIds: PROMPTS[3] as number[] }));
      if (n === 7) late.push(decode(b, { promptIds: PROMPTS[4] as number[], maxTokens: 12 }));
    });
    const second = decode(b, { promptIds: PROMPTS[1] as number[], maxTokens: 5 });
    const results = [await first, await second];
    results.push(...(await Promise.all(late)));
    await b.close();
    expect(results[0]?.tokens).toEqual(expected[0]);
    expect(results[1]?.tokens).toEqual(expected[1]?.slice(0, 5));
    expect(results[1]?.reason).toBe('length');
    expect(results[2]?.tokens).toEqual(expected[2]);
    expect(results[3]?.tokens).toEqual(expected[3]);
    expect(results[4]?.tokens).toEqual(expected[4]);
    const s = b.stats;
    // shared forward passes: fewer decoding steps than rows decoded
    expect(s.rowSteps).toBeGreaterThan(s.steps);
    // the first two arrive together and share one prefill; then two join together, then one
    expect(s.prefills).toBe(3);
  });

  it.each([
    ['GPT-2', lm],
    ['Qwen2 (rotary positions, grouped-query attention)', loadPretrained('reference/golden/tiny-llama').model as CausalLM],
  ])('%s: the cache is padded for a longer joiner and trimmed when it leaves: the staying rows decode as alone', async (_name, lm) => {
    const alone = (p: number[], n: number) => generate(lm, tensor([p], { dtype: 'int64' }), tensor([p.map(() => 1)], { dtype: 'int64' }), { maxNewTokens: n, greedy: true, padId: 0 }).sequences.narrow(1, p.length, n).toNumbers();
    const b = new Batcher(lm, { maxBatch: 8, maxWaiting: 64, stopTokenIds: [], padId: 0 });
    const late: Promise<Result>[] = [];
    // a 1-token prompt; a 7-token prompt joins after 2 tokens (the running row is padded on the left) and leaves after 2
    // (the padding columns are cut); then a 5-token prompt joins the trimmed cache
    const short = decode(b, { promptIds: PROMPTS[3] as number[], maxTokens: 14 }, (n) => {
      if (n === 2) late.push(decode(b, { promptIds: PROMPTS[2] as number[], maxTokens: 2 }));
      if (n === 6) late.push(decode(b, { promptIds: PROMPTS[4] as number[], maxTokens: 4 }));
    });
    const first = await short;
    const [long, medium] = await Promise.all(late);
    await b.close();
    expect(first.tokens).toEqual(alone(PROMPTS[3] as number[], 14));
    expect(long?.tokens).toEqual(alone(PROMPTS[2] as number[], 2));
    expect(medium?.tokens).toEqual(alone(PROMPTS[4] as number[], 4));
  });

  it('sampled sequences give the same tokens concurrently as one at a time (each row has its own seeded stream)', async () => {
    const reqs = PROMPTS.flatMap((p, i) => [
      { promptIds: p, temperature: 1, topP: 1, seed: 100 + i },
      { promptIds: p, temperature: 0.8, topP: 0.9, seed: 200 + i },
    ]);
    const together = new Batcher(lm, { maxBatch: 16, maxWaiting: 64, stopTokenIds: [], padId: 0 });
    const concurrent = await Promise.all(reqs.map((r) => decode(together, r)));
    await together.close();
    expect(together.stats.steps).toBeLessThan(reqs.length * 12);
    const alone = new Batcher(lm, { maxBatch: 1, maxWaiting: 64, stopTokenIds: [], padId: 0 });
    const sequential: Result[] = [];
    for (const r of reqs) sequential.push(await decode(alone, r));
    await alone.close();
    expect(alone.stats.steps).toBe(reqs.length * 12);
    expect(concurrent.map((r) => r.tokens)).toEqual(sequential.map((r) => r.tokens));
    // the streams differ: not every sample is the greedy continuation
    const greedy = await (async () => {
      const g = new Batcher(lm, { maxBatch: 16, maxWaiting: 64, stopTokenIds: [], padId: 0 });
      const out = await Promise.all(reqs.map((r) => decode(g, { ...r, temperature: 0 })));
      await g.close();
      return out;
    })();
    expect(concurrent.filter((r, i) => JSON.stringify(r.tokens) !== JSON.stringify(greedy[i]?.tokens)).length).toBeGreaterThan(reqs.length / 2);
  });

  it('a cancelled sequence frees its slot; stop tokens and the context end sequences', async () => {
    const b = new Batcher(lm, { maxBatch: 1, maxWaiting: 4, stopTokenIds: [], padId: 0 });
    let handle: { cancel(): void } | undefined;
    const cancelled = new Promise<Result>((resolve) => {
      const tokens: number[] = [];
      handle = b.submit({
        promptIds: PROMPTS[0] as number[],
        maxTokens: 20,
        temperature: 1,
        topP: 1,
        seed: 1,
        onToken: (t) => {
          tokens.push(t);
          if (tokens.length === 2) handle?.cancel();
        },
        onEnd: (reason) => resolve({ tokens, reason }),
      });
    });
    const next = decode(b, { promptIds: PROMPTS[1] as number[], maxTokens: 100 });
    const c = await cancelled;
    expect(c.reason).toBe('cancelled');
    expect(c.tokens).toHaveLength(2);
    const n = await next;
    // the context (32) bounds the budget: 32 - 3 prompt tokens
    expect(n.tokens).toHaveLength(29);
    expect(n.reason).toBe('length');
    await b.close();

    // a stop token ends a sequence without being delivered
    const greedy = (await decode(new Batcher(lm, { maxBatch: 1, maxWaiting: 1, stopTokenIds: [], padId: 0 }), { promptIds: PROMPTS[0] as number[] })).tokens;
    const stopAt = greedy[3] as number;
    const s = new Batcher(lm, { maxBatch: 2, maxWaiting: 1, stopTokenIds: [stopAt], padId: 0 });
    const stopped = await decode(s, { promptIds: PROMPTS[0] as number[] });
    await s.close();
    expect(stopped.reason).toBe('stop');
    expect(stopped.tokens).toEqual(greedy.slice(0, greedy.indexOf(stopAt)));
    expect(() => s.submit({ promptIds: new Array<number>(32).fill(5), maxTokens: 1, temperature: 0, topP: 1, seed: 0, onToken: () => {}, onEnd: () => {} })).toThrow();
  });

  it('frees every tensor it made: sequences joining, leaving and cancelled leave no live tensor behind', async () => {
    const b = new Batcher(lm, { maxBatch: 4, maxWaiting: 64, stopTokenIds: [], padId: 0 });
    await decode(b, { promptIds: PROMPTS[0] as number[], maxTokens: 2 }); // warm-up
    const before = memoryStats().liveTensors;
    const runs = Array.from({ length: 20 }, (_, i) => decode(b, { promptIds: PROMPTS[i % PROMPTS.length] as number[], maxTokens: 3 + (i % 7), temperature: i % 2, seed: i }));
    let handle: { cancel(): void } | undefined;
    const cancelled = new Promise<void>((resolve) => {
      handle = b.submit({ promptIds: [7, 8], maxTokens: 20, temperature: 1, topP: 0.9, seed: 3, onToken: () => handle?.cancel(), onEnd: () => resolve() });
    });
    await Promise.all([...runs, cancelled]);
    expect(memoryStats().liveTensors).toBe(before);
    await b.close();
  });

  it('refuses sequences beyond the waiting limit, except parts of admitted requests (guard regenerations)', async () => {
    const b = new Batcher(lm, { maxBatch: 1, maxWaiting: 1, stopTokenIds: [], padId: 0 });
    const first = decode(b, { promptIds: [5, 6], maxTokens: 3 });
    expect(b.canAccept(1)).toBe(false);
    await expect(decode(b, { promptIds: [5, 6] })).rejects.toThrow(QueueFullError);
    const again = decode(b, { promptIds: [5, 6], maxTokens: 3, admitted: true });
    expect((await first).tokens).toEqual((await again).tokens);
    await b.close();
  });

  it('a cancelled waiting sequence leaves the queue at once (ended before the running ones finish)', async () => {
    const b = new Batcher(lm, { maxBatch: 1, maxWaiting: 4, stopTokenIds: [], padId: 0 });
    let running!: () => void;
    const started = new Promise<void>((resolve) => (running = resolve));
    const first = decode(b, { promptIds: [5, 6], maxTokens: 12 }, (n) => n === 1 && running());
    await started;
    const ends: FinishReason[] = [];
    const handle = b.submit({ promptIds: [5, 6], maxTokens: 3, temperature: 0, topP: 1, seed: 0, onToken: () => {}, onEnd: (r) => void ends.push(r) });
    expect(b.stats.waiting).toBe(1);
    handle.cancel();
    handle.cancel();
    expect(ends).toEqual(['cancelled']);
    expect(b.stats.waiting).toBe(0);
    expect((await first).tokens).toHaveLength(12);
    expect(ends).toEqual(['cancelled']);
    await b.close();
  });

  it('an engine error ends the running and joining sequences with the error, and the loop serves the next ones', async () => {
    const broken = lm.clone();
    const forward = broken.forward.bind(broken);
    let calls = 0;
    broken.forward = (...a: Parameters<typeof forward>) => {
      if (++calls === 3) throw new Error('engine failure');
      return forward(...a);
    };
    const b = new Batcher(broken, { maxBatch: 4, maxWaiting: 8, stopTokenIds: [], padId: 0 });
    // prefilled together (forward 1), one decoding step (2), the next one fails (3)
    const first = decode(b, { promptIds: [5, 6, 7], maxTokens: 10 });
    const joiner = decode(b, { promptIds: [9, 9], maxTokens: 10 });
    await expect(first).rejects.toThrow('engine failure');
    await expect(joiner).rejects.toThrow('engine failure');
    // a failing prefill: a sequence joins a running one, and the prefill is the failing call
    calls = 0;
    let late: Promise<Result> | undefined;
    const running = decode(b, { promptIds: [5, 6, 7], maxTokens: 10 }, (n) => {
      if (n === 1) late = decode(b, { promptIds: [9, 9], maxTokens: 10 });
    });
    await expect(running).rejects.toThrow('engine failure');
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('the joining sequence never ended')), 5000));
    await expect(Promise.race([late, timeout])).rejects.toThrow('engine failure');
    const after = await decode(b, { promptIds: [5, 6, 7], maxTokens: 4 });
    expect(after.tokens).toEqual((await decode(new Batcher(lm, { maxBatch: 1, maxWaiting: 1, stopTokenIds: [], padId: 0 }), { promptIds: [5, 6, 7], maxTokens: 4 })).tokens);
    await b.close();
  });
});
