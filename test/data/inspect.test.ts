import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/data.js';
import { formatInspectReport, inspectPreferences } from '../../src/data/inspect.js';
import { sharedData } from '../helpers/shared.js';

const PKU = sharedData('pku_saferlhf_sample60.jsonl');
const HH = sharedData('hh_rlhf_harmless_sample50.jsonl');
const dir = mkdtempSync(join(tmpdir(), 'inspect-'));

interface RawRow {
  is_response_0_safe: boolean;
  is_response_1_safe: boolean;
  better_response_id: number;
  safer_response_id: number;
  response_0_severity_level: number;
  response_1_severity_level: number;
  response_0_harm_category: Record<string, boolean>;
  response_1_harm_category: Record<string, boolean>;
}

/** Independent count straight from the raw JSON, without the loader. */
function rawCounts(path: string) {
  const rows = readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RawRow);
  const out = { n: rows.length, ss: 0, su: 0, uu: 0, same: 0, sev: [0, 0, 0, 0], cyber: 0 };
  for (const r of rows) {
    const safe = [r.is_response_0_safe, r.is_response_1_safe].filter(Boolean).length;
    if (safe === 2) out.ss++;
    else if (safe === 1) out.su++;
    else out.uu++;
    if (r.better_response_id === r.safer_response_id) out.same++;
    for (const s of [r.response_0_severity_level, r.response_1_severity_level]) out.sev[s] = (out.sev[s] ?? 0) + 1;
    for (const c of [r.response_0_harm_category, r.response_1_harm_category]) if (c.Cybercrime) out.cyber++;
  }
  return out;
}

describe('data inspect', () => {
  it('reports 60 records and the right pair types on the PKU sample', async () => {
    const r = await inspectPreferences(PKU);
    const raw = rawCounts(PKU);
    expect(r.format).toBe('pku');
    expect(r.stats.records).toBe(raw.n);
    expect(r.pairTypes).toEqual({ 'safe-safe': raw.ss, 'safe-unsafe': raw.su, 'unsafe-unsafe': raw.uu });
    expect(r.agreement.same).toBe(raw.same);
    expect([r.severity['0'], r.severity['1'], r.severity['2'], r.severity['3']]).toEqual(raw.sev);
    expect(r.categories.Cybercrime).toBe(raw.cyber);
    // Hand-checked once against the file (and with a separate Python count): 60 records,
    // 31 safe-safe, 6 safe-unsafe, 23 unsafe-unsafe, better == safer in 52, severity 68/4/42/6.
    expect(r.stats.records).toBe(60);
    expect(r.pairTypes).toEqual({ 'safe-safe': 31, 'safe-unsafe': 6, 'unsafe-unsafe': 23 });
    expect(r.agreement).toEqual({ same: 52, total: 60, rate: 52 / 60 });
    expect(r.severity).toEqual({ '0': 68, '1': 4, '2': 42, '3': 6 });
    expect(r.responses).toEqual({ safe: 68, unsafe: 52 });
    expect(r.problems).toEqual([]);
  });

  it('reports a broken line with its number and counts the rest', async () => {
    const lines = readFileSync(PKU, 'utf8').split('\n').filter(Boolean);
    lines.splice(6, 0, '{"prompt": "half a line", "response_0": ');
    const path = join(dir, 'broken.jsonl');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const r = await inspectPreferences(path);
    expect(r.stats.records).toBe(60);
    expect(r.stats.unreadable).toBe(1);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ file: path, line: 7, kind: 'json' });
    expect(formatInspectReport(r)).toContain(`${path}:7: json: not valid JSON`);
  });

  it('counts inconsistent rows and includes them', async () => {
    const lines = readFileSync(PKU, 'utf8').split('\n').filter(Boolean);
    const o = JSON.parse(lines[1] as string) as Record<string, unknown>;
    Object.assign(o, { is_response_0_safe: true, is_response_1_safe: false, safer_response_id: 1 });
    const path = join(dir, 'inconsistent.jsonl');
    writeFileSync(path, `${lines[0]}\n${JSON.stringify(o)}\n`);
    const r = await inspectPreferences(path);
    expect(r.stats.records).toBe(2);
    expect(r.stats.inconsistent).toBe(1);
    expect(r.problems[0]).toMatchObject({ line: 2, kind: 'inconsistent', kept: true });
  });

  it('detects HH-RLHF and reports no safety labels', async () => {
    const r = await inspectPreferences(HH);
    expect(r.format).toBe('hh');
    expect(r.stats.records).toBe(50);
    expect(r.withSafetyLabels).toBe(0);
    expect(r.multiTurn).toBe(38);
    expect(formatInspectReport(r)).toContain('no safety labels');
  });

  it('runs from the CLI with --json', async () => {
    const program = new Command('safealign').exitOverride();
    register(program);
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      chunks.push(String(s));
      return true;
    });
    try {
      await program.parseAsync(['data', 'inspect', PKU, '--json'], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    const report = JSON.parse(chunks.join('')) as { stats: { records: number }; pairTypes: Record<string, number> };
    expect(report.stats.records).toBe(60);
    expect(report.pairTypes['safe-unsafe']).toBe(6);
  });
});
