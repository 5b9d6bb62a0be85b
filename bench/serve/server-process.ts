// Benchmarks' handle on `safealign serve` as its own process: start it with flags, read its URL, send it chat requests
// from concurrent clients, read a metric, stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import type { GuardVerdict } from '../../src/serve/guard.js';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `safealign serve` with `flags` (through tsx, as the CLI tests do) and waits for its URL. */
export async function startServer(flags: readonly string[], threads: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', ...flags], {
    env: { ...process.env, SAFEALIGN_THREADS: threads },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/\S+)\/v1/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`safealign serve exited with ${code}`)));
  });
  return {
    url,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** A chat completion's reply, as the benchmarks read it. */
export interface ChatReply {
  choices: { message: { content: string }; safealign_guard?: GuardVerdict }[];
  usage: { completion_tokens: number };
}

/**
 * Sends `count` chat completion requests (`body(i)` the i-th) to the server at `url` from `clients` concurrent clients, each
 * taking the next request as soon as its last one is answered. Returns the replies in request order, every request's
 * latency in seconds (in the order they were answered) and the wall time in seconds. A request that fails throws.
 */
export async function chatFromClients(
  url: string,
  count: number,
  clients: number,
  body: (i: number) => unknown,
): Promise<{ replies: ChatReply[]; latencies: number[]; wall: number }> {
  const replies: ChatReply[] = new Array<ChatReply>(count);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        const i = next++;
        const start = performance.now();
        const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(i)) });
        if (!res.ok) throw new Error(`request ${i}: ${res.status} ${await res.text()}`);
        replies[i] = (await res.json()) as ChatReply;
        latencies.push((performance.now() - start) / 1000);
      }
    }),
  );
  return { replies, latencies, wall: (performance.now() - t0) / 1000 };
}

/** One unlabelled value of the server's /metrics. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);
}

/** The value at quantile p of sorted numbers. */
export function quantile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}
