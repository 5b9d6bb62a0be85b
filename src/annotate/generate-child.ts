// Child process that generates pairs from model checkpoints, so that libtorch work never blocks the server.
import { generatePairs, type GeneratePairsOptions } from './generate-pairs.js';

/** Messages to the parent: progress, the finished pairs, or why it failed. */
export type ChildMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; items: Awaited<ReturnType<typeof generatePairs>> }
  | { type: 'error'; message: string };

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) throw new Error('generate-child must be started with an IPC channel (child_process.fork)');
    process.send(message, () => resolve());
  });
}

process.once('message', (options: Omit<GeneratePairsOptions, 'onProgress'>) => {
  void (async () => {
    try {
      const items = await generatePairs({ ...options, onProgress: (done, total) => void send({ type: 'progress', done, total }) });
      await send({ type: 'done', items });
    } catch (e) {
      await send({ type: 'error', message: (e as Error).message });
    }
    process.exit(0);
  })();
});
