// Progress reporting for long library work: library code calls a Progress; the CLI draws bars.

/** What a long-running library function reports as it goes. */
export interface Progress {
  /** Starts a task of `total` units (steps, records, …) named `label`. */
  start(label: string, total: number): void;
  /** Marks `done` units finished so far, with the latest metrics to show beside the bar. */
  update(done: number, metrics?: Record<string, number | string>): void;
  /** Ends the current task. */
  stop(): void;
  /** A line of text shown without breaking the bars (warnings, stage summaries). */
  log(message: string): void;
}

/** Reports nothing: the default for library calls that are not given a Progress. */
export const silentProgress: Progress = {
  start() {},
  update() {},
  stop() {},
  log() {},
};

/** Formats metrics compactly for a progress line: 3 significant digits. */
export function formatMetrics(metrics: Record<string, number | string> | undefined): string {
  if (!metrics) return '';
  return Object.entries(metrics)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : v}`)
    .join(' ');
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(3)).toString();
}
