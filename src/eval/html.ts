// Minimal HTML assembly for self-contained reports: escaping, tables, sections, one inline stylesheet.
import type { Interval } from './intervals.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export type Cell = string | number | null | undefined;

/** A table; numbers are formatted with `digits` decimals, null/undefined as an en dash. */
export function table(header: string[], rows: Cell[][], digits = 3): string {
  const fmt = (c: Cell) => (c === null || c === undefined ? '–' : typeof c === 'number' ? (Number.isFinite(c) ? c.toFixed(digits) : String(c)) : escapeHtml(c));
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td${typeof c === 'number' ? ' class="num"' : ''}>${fmt(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
export const num = (v: number | null) => (v === null ? '–' : v.toFixed(2));

/** "3.9% [0.1, 8.2]" or "3.63 [3.50, 3.80]": a mean and its interval in one cell. */
export function intervalCell(iv: Pick<Interval, 'mean' | 'lo' | 'hi'> | null | undefined, percent: boolean): Cell {
  if (!iv) return null;
  const f = percent ? (v: number | null) => (v === null ? '–' : (100 * v).toFixed(1)) : num;
  // non-breaking spaces keep a mean and its interval on one line
  return `${percent ? pct(iv.mean) : num(iv.mean)}\u00a0[${f(iv.lo)},\u00a0${f(iv.hi)}]`;
}

export function section(title: string, body: string, note?: string): string {
  return `<section><h2>${escapeHtml(title)}</h2>${note ? `<p class="note">${escapeHtml(note)}</p>` : ''}${body}</section>`;
}

const STYLE = `
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7fb;color:#1d1d28}
header{background:#1d2540;color:#fff;padding:22px 40px}header h1{margin:0 0 4px;font-size:24px}header p{margin:0;opacity:.8}
main{max-width:1180px;margin:0 auto;padding:20px 40px 60px}
section{background:#fff;border:1px solid #e3e5ee;border-radius:8px;padding:18px 22px;margin:18px 0;overflow-x:auto}
h2{font-size:18px;margin:0 0 10px}p.note{color:#555;margin:0 0 12px;font-size:14px}
table{border-collapse:collapse;font-size:14px}th,td{padding:5px 12px;border-bottom:1px solid #eceef4;text-align:left}
th{background:#f2f3f8;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.good{color:#1a7f37;font-weight:600}.bad{color:#b42318;font-weight:600}
pre{background:#f2f3f8;padding:12px;border-radius:6px;font-size:12px;overflow-x:auto}
.ex{font-size:13px}.ex td{vertical-align:top}`;

/** A whole offline page: inline CSS, inline SVG, no external references. */
export function page(title: string, subtitle: string, sections: string[]): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><header><h1>${escapeHtml(title)}</h1><p>${escapeHtml(subtitle)}</p></header><main>${sections.join('\n')}</main></body></html>`;
}
