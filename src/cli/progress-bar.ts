// Terminal progress bars (cli-progress) behind the library's Progress interface.
import cliProgress from 'cli-progress';
import { formatMetrics, silentProgress, type Progress } from '../core/progress.js';
import { distributedFromEnv } from '../distributed/config.js';

/**
 * A Progress that draws one bar with ETA per task on a TTY, and prints plain periodic lines
 * when output is not a terminal (CI logs), so that logs stay readable. In a distributed job
 * (RANK set), rank 0 alone reports: the ranks share the steps and their metrics.
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if ((distributedFromEnv()?.rank ?? 0) !== 0) return silentProgress;
  const tty = Boolean(stream.isTTY) && process.env.CI !== 'true';
  let bar: cliProgress.SingleBar | null = null;
  let label = '';
  let total = 0;
  let lastLine = 0;
  let started = 0;
  return {
    start(name, n) {
      label = name;
      total = n;
      started = Date.now();
      lastLine = 0;
      if (tty) {
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${name.padEnd(18)} {bar} {value}/{total} | ETA {eta_formatted} | {metrics}`,
            barsize: 28,
            hideCursor: true,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(n, 0, { metrics: '' });
      } else {
        stream.write(`${name}: 0/${n}\n`);
      }
    },
    update(done, metrics) {
      if (bar) {
        bar.update(done, { metrics: formatMetrics(metrics) });
        return;
      }
      const now = Date.now();
      if (now - lastLine > 10_000 || done === total) {
        lastLine = now;
        const elapsed = (now - started) / 1000;
        const eta = done > 0 ? (elapsed * (total - done)) / done : NaN;
        stream.write(
          `${label}: ${done}/${total} (${elapsed.toFixed(0)}s, ETA ${Number.isFinite(eta) ? eta.toFixed(0) : '?'}s) ${formatMetrics(metrics)}\n`,
        );
      }
    },
    stop() {
      if (bar) bar.stop();
      else stream.write(`${label}: done in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
      bar = null;
    },
    log(message) {
      if (bar) {
        stream.write('\n');
      }
      stream.write(`${message}\n`);
    },
  };
}
