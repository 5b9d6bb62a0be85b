// Kills a child process with SIGKILL as soon as a file appears (e.g. its first checkpoint), to test resuming.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Polls for `file` every `everyMs`; when it appears, calls `beforeKill` (e.g. to list the child's own
 * children), sends `signal` (SIGKILL) to `child` and resolves with what `beforeKill` returned. Resolves null if the child
 * exits before the file appears.
 */
export function killWhenFileAppears<T = true>(child: ChildProcess, file: string, everyMs = 50, beforeKill: () => T = () => true as T, signal: NodeJS.Signals = 'SIGKILL'): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (existsSync(file)) {
        clearInterval(timer);
        const value = beforeKill();
        child.kill(signal);
        resolve(value);
      }
    }, everyMs);
    child.on('exit', () => {
      clearInterval(timer);
      resolve(null);
    });
  });
}
