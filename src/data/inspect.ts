// `data inspect`: counts, label agreement, safe/unsafe pair types, category and severity histograms, problems.
import { resolveFormat, PARSERS, type DataFormat } from './formats.js';
import { emptyStats, streamRecords, type LoadStats } from './loader.js';
import { formatProblem, type DataProblem } from './problems.js';
import { HARM_CATEGORIES, hasSafetyLabels, pairType, type HarmCategory, type PairType } from './record.js';

export interface InspectReport {
  file: string;
  format: DataFormat;
  stats: LoadStats;
  /** Records with more than one earlier turn of context. */
  multiTurn: number;
  /** Records that carry safety labels (safer id + is_safe). */
  withSafetyLabels: number;
  /** How often the more helpful response is also the safer one (over records with safety labels). */
  agreement: { same: number; total: number; rate: number | null };
  /** Pair make-up by the responses' safety labels. */
  pairTypes: Record<PairType, number>;
  /** Responses (not pairs) labelled safe / unsafe. */
  responses: { safe: number; unsafe: number };
  /** Responses tagged with each harm category (over responses that have category labels). */
  categories: Record<HarmCategory, number>;
  /** Responses at each severity level (over responses that have severity labels). */
  severity: Record<'0' | '1' | '2' | '3', number>;
  /** Mean characters of prompts and responses. */
  meanChars: { prompt: number; response: number };
  problems: DataProblem[];
}

/**
 * Reads a preference file of any supported format and summarises its labels. Every readable
 * record is counted, inconsistent ones included (they are also listed under problems).
 */
export async function inspectPreferences(path: string, options: { format?: DataFormat | 'auto' } = {}): Promise<InspectReport> {
  const format = await resolveFormat(path, options.format);
  const stats = emptyStats();
  const problems: DataProblem[] = [];
  const pairTypes: Record<PairType, number> = { 'safe-safe': 0, 'safe-unsafe': 0, 'unsafe-unsafe': 0 };
  const categories = Object.fromEntries(HARM_CATEGORIES.map((c) => [c, 0])) as Record<HarmCategory, number>;
  const severity = { '0': 0, '1': 0, '2': 0, '3': 0 };
  const responses = { safe: 0, unsafe: 0 };
  let same = 0;
  let labelled = 0;
  let multiTurn = 0;
  let promptChars = 0;
  let responseChars = 0;
  const stream = streamRecords(path, PARSERS[format], { inconsistent: 'keep', onProblem: (p) => problems.push(p) }, stats);
  for await (const r of stream) {
    if (r.context && r.context.length > 0) multiTurn += 1;
    promptChars += r.prompt.length;
    responseChars += r.responses[0].length + r.responses[1].length;
    if (hasSafetyLabels(r)) {
      labelled += 1;
      if (r.betterResponseId === r.saferResponseId) same += 1;
      pairTypes[pairType(r.isSafe)] += 1;
      for (const s of r.isSafe) responses[s ? 'safe' : 'unsafe'] += 1;
    }
    for (const list of r.categories ?? []) for (const c of list) categories[c] += 1;
    for (const s of r.severity ?? []) severity[String(s) as keyof typeof severity] += 1;
  }
  const n = stats.records;
  return {
    file: path,
    format,
    stats,
    multiTurn,
    withSafetyLabels: labelled,
    agreement: { same, total: labelled, rate: labelled > 0 ? same / labelled : null },
    pairTypes,
    responses,
    categories,
    severity,
    meanChars: { prompt: n > 0 ? promptChars / n : 0, response: n > 0 ? responseChars / (2 * n) : 0 },
    problems,
  };
}

function pct(k: number, n: number): string {
  return n > 0 ? `${((100 * k) / n).toFixed(1)}%` : '-';
}

/** Human-readable report; lists at most `maxProblems` problems (all are in the JSON form). */
export function formatInspectReport(r: InspectReport, maxProblems = 20): string {
  const s = r.stats;
  const lines = [
    `${r.file} (${r.format})`,
    `  lines ${s.lines}, records ${s.records}, unreadable ${s.unreadable}, inconsistent ${s.inconsistent}, label warnings ${s.warnings}`,
    `  multi-turn prompts ${r.multiTurn}; mean chars: prompt ${r.meanChars.prompt.toFixed(0)}, response ${r.meanChars.response.toFixed(0)}`,
  ];
  if (r.withSafetyLabels > 0) {
    const n = r.withSafetyLabels;
    lines.push(
      `  better == safer: ${r.agreement.same}/${n} (${pct(r.agreement.same, n)})`,
      `  pair types: safe-safe ${r.pairTypes['safe-safe']} (${pct(r.pairTypes['safe-safe'], n)}), safe-unsafe ${r.pairTypes['safe-unsafe']} (${pct(r.pairTypes['safe-unsafe'], n)}), unsafe-unsafe ${r.pairTypes['unsafe-unsafe']} (${pct(r.pairTypes['unsafe-unsafe'], n)})`,
      `  responses: safe ${r.responses.safe}, unsafe ${r.responses.unsafe}`,
    );
  } else {
    lines.push('  no safety labels (helpfulness preference only)');
  }
  const cats = Object.entries(r.categories).filter(([, k]) => k > 0).sort((a, b) => b[1] - a[1]);
  if (cats.length > 0) {
    lines.push('  harm categories (responses):');
    for (const [c, k] of cats) lines.push(`    ${c.padEnd(30)} ${k}`);
  }
  const sev = r.severity;
  if (sev['0'] + sev['1'] + sev['2'] + sev['3'] > 0) {
    lines.push(`  severity (responses): 0: ${sev['0']}, 1: ${sev['1']}, 2: ${sev['2']}, 3: ${sev['3']}`);
  }
  if (r.problems.length > 0) {
    lines.push(`  problems (${r.problems.length}):`);
    for (const p of r.problems.slice(0, maxProblems)) lines.push(`    ${formatProblem(p)}`);
    if (r.problems.length > maxProblems) lines.push(`    ... ${r.problems.length - maxProblems} more (use --json for all)`);
  } else {
    lines.push('  problems: none');
  }
  return lines.join('\n');
}
