// Progress of replicates running at once: one bar per running replicate on a TTY, prefixed plain lines in CI logs.
import cliProgress from 'cli-progress';
import { formatMetrics, type Progress } from '../core/progress.js';
import { terminalProgress } from './progress-bar.js';

export interface ReplicateProgress {
  /** The Progress of one replicate, labelled with its folder (seed_<k>). */
  forReplicate(dir: string): Progress;
  /** A run-level line (replicate started / finished). */
  log(message: string): void;
  /** Ends the bars. */
  stop(): void;
}

export function replicateProgress(stream: NodeJS.WriteStream = process.stderr): ReplicateProgress {
  const tty = Boolean(stream.isTTY) && process.env.CI !== 'true';
  if (!tty) {
    return {
      forReplicate(dir) {
        const inner = terminalProgress(stream);
        return {
          start: (label, total) => inner.start(`[${dir}] ${label}`, total),
          update: (done, metrics) => inner.update(done, metrics),
          stop: () => inner.stop(),
          log: (message) => inner.log(`[${dir}] ${message}`),
        };
      },
      log: (message) => void stream.write(`${message}\n`),
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: '{replicate} {stage} {bar} {value}/{total} | ETA {eta_formatted} | {metrics}',
      barsize: 24,
      hideCursor: true,
      etaBuffer: 20,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    forReplicate(dir) {
      let bar: cliProgress.SingleBar | null = null;
      return {
        start(label, total) {
          if (bar) multi.remove(bar);
          bar = multi.create(total, 0, { replicate: dir.padEnd(7), stage: label.padEnd(16), metrics: '' });
        },
        update(done, metrics) {
          bar?.update(done, { metrics: formatMetrics(metrics) });
        },
        stop() {
          if (bar) multi.remove(bar);
          bar = null;
        },
        log(message) {
          multi.log(`[${dir}] ${message}\n`);
        },
      };
    },
    log: (message) => multi.log(`${message}\n`),
    stop: () => multi.stop(),
  };
}
