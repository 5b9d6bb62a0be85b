import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pkuResponseSha256, readPkuSafeRlhf, writePkuSafeRlhf } from '../../src/data/pku-saferlhf.js';
import { DataFormatError, DataWriteError } from '../../src/data/problems.js';
import { HARM_CATEGORIES, type PreferenceRecord } from '../../src/data/record.js';
import { sharedData } from '../helpers/shared.js';

const SAMPLE = sharedData('pku_saferlhf_sample60.jsonl');
const sampleLines = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l !== '');
const dir = mkdtempSync(join(tmpdir(), 'pku-'));

function writeLines(name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

describe('PKU-SafeRLHF reader', () => {
  it('reads the 60-record sample with every label and no problems', async () => {
    const { records, problems, stats } = await readPkuSafeRlhf(SAMPLE);
    expect(problems).toEqual([]);
    expect(records).toHaveLength(60);
    expect(stats).toMatchObject({ lines: 60, records: 60, unreadable: 0, inconsistent: 0 });
    const raw = JSON.parse(sampleLines[0] as string) as Record<string, unknown>;
    const first = records[0] as PreferenceRecord;
    expect(first.prompt).toBe(raw.prompt);
    expect(first.responses).toEqual([raw.response_0, raw.response_1]);
    expect(first.betterResponseId).toBe(1);
    expect(first.saferResponseId).toBe(1);
    expect(first.isSafe).toEqual([false, false]);
    // Hand-checked on line 1: response 0 is tagged national security, economic crime and cybercrime.
    expect(first.categories?.[0]).toEqual(expect.arrayContaining(['Endangering National Security', 'Economic Crime', 'Cybercrime']));
    expect(first.severity).toEqual([3, 3]);
    expect(first.source).toMatchObject({ prompt: 'WizardLM-30B-Uncensored', responses: ['Alpaca-7B', 'Alpaca-7B'], file: SAMPLE, line: 1 });
  });

  it('uses the 19 category names of the dataset exactly', () => {
    const raw = JSON.parse(sampleLines[0] as string) as { response_0_harm_category: Record<string, boolean> };
    expect([...HARM_CATEGORIES]).toEqual(Object.keys(raw.response_0_harm_category));
  });

  it('writes the sample back byte for byte', async () => {
    const { records } = await readPkuSafeRlhf(SAMPLE);
    const out = join(dir, 'roundtrip.jsonl');
    expect(writePkuSafeRlhf(out, records)).toBe(60);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(SAMPLE, 'utf8'));
  });

  it('reads rows without categories and severity (older exports)', async () => {
    const lines = sampleLines.slice(0, 3).map((l) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      for (const k of ['response_0_harm_category', 'response_1_harm_category', 'response_0_severity_level', 'response_1_severity_level']) delete o[k];
      o.response_0_sha256 = null;
      return JSON.stringify(o);
    });
    const { records, problems } = await readPkuSafeRlhf(writeLines('nocats.jsonl', lines));
    expect(problems).toEqual([]);
    expect(records).toHaveLength(3);
    expect(records[0]?.categories).toBeUndefined();
    expect(records[0]?.severity).toBeUndefined();
    expect(records[0]?.isSafe).toBeDefined();
  });

  it('reports broken JSON and schema errors with file, line and field, and keeps going', async () => {
    const bad = JSON.parse(sampleLines[2] as string) as Record<string, unknown>;
    bad.better_response_id = 2;
    const bad2 = JSON.parse(sampleLines[3] as string) as Record<string, unknown>;
    (bad2.response_1_harm_category as Record<string, boolean>)['Jaywalking'] = true;
    const lines = [sampleLines[0] as string, '{"prompt": "cut off', JSON.stringify(bad), JSON.stringify(bad2), '', sampleLines[4] as string];
    const path = writeLines('broken.jsonl', lines);
    const { records, problems, stats } = await readPkuSafeRlhf(path);
    expect(records.map((r) => r.source?.line)).toEqual([1, 6]);
    expect(stats.unreadable).toBe(3);
    expect(problems.map((p) => [p.line, p.kind, p.field])).toEqual([
      [2, 'json', undefined],
      [3, 'schema', 'better_response_id'],
      [4, 'schema', 'response_1_harm_category.Jaywalking'],
    ]);
    expect(problems.every((p) => p.file === path && !p.kept)).toBe(true);
  });

  it('strict mode throws at the first bad line with its number', async () => {
    const path = writeLines('strict.jsonl', [sampleLines[0] as string, 'not json']);
    await expect(readPkuSafeRlhf(path, { strict: true })).rejects.toThrow(DataFormatError);
    await expect(readPkuSafeRlhf(path, { strict: true })).rejects.toThrow(`${path}:2: json`);
  });

  it('counts inconsistent rows and skips or keeps them as asked', async () => {
    const o = JSON.parse(sampleLines[5] as string) as Record<string, unknown>;
    o.is_response_0_safe = false;
    o.is_response_1_safe = true;
    o.safer_response_id = 0;
    const path = writeLines('inconsistent.jsonl', [sampleLines[0] as string, JSON.stringify(o)]);
    const skipped = await readPkuSafeRlhf(path, { inconsistent: 'skip' });
    expect(skipped.records).toHaveLength(1);
    expect(skipped.stats).toMatchObject({ inconsistent: 1, skippedInconsistent: 1 });
    expect(skipped.problems[0]).toMatchObject({ line: 2, kind: 'inconsistent', kept: false });
    const kept = await readPkuSafeRlhf(path, { inconsistent: 'keep', strict: true });
    expect(kept.records).toHaveLength(2);
    expect(kept.stats).toMatchObject({ inconsistent: 1, skippedInconsistent: 0 });
    expect(kept.problems[0]).toMatchObject({ line: 2, kind: 'inconsistent', kept: true });
  });

  it('refuses a severity level outside 0-3 by file:line, saying which levels exist', async () => {
    const o = JSON.parse(sampleLines[1] as string) as Record<string, unknown>;
    o.response_0_severity_level = 4;
    const path = writeLines('bad-severity.jsonl', [sampleLines[0] as string, JSON.stringify(o)]);
    const { records, problems } = await readPkuSafeRlhf(path);
    expect(records).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: path, line: 2, kind: 'schema', field: 'response_0_severity_level', kept: false });
    expect(problems[0]?.message).toBe('expected a severity level 0 (safe), 1 (minor), 2 (moderate) or 3 (severe), got 4');
  });

  it('warns (and keeps) on label contradictions inside a response and on checksum mismatches', async () => {
    const o = JSON.parse(sampleLines[0] as string) as Record<string, unknown>;
    o.response_0 = `${o.response_0 as string} edited`;
    o.response_1_severity_level = 0;
    const { records, problems } = await readPkuSafeRlhf(writeLines('warn.jsonl', [JSON.stringify(o)]));
    expect(records).toHaveLength(1);
    expect(problems.map((p) => [p.kind, p.field, p.kept])).toEqual([
      ['label', 'response_1_severity_level', true],
      ['checksum', 'response_0_sha256', true],
    ]);
  });
});

describe('PKU-SafeRLHF writer', () => {
  const base: PreferenceRecord = {
    prompt: 'How do I water basil?',
    responses: ['Water it daily.', 'Poison the neighbour.'],
    betterResponseId: 0,
    saferResponseId: 0,
    isSafe: [true, false],
    categories: [[], ['Physical Harm']],
    severity: [0, 2],
    source: { prompt: 'test', responses: ['a', 'b'] },
  };

  it('writes the upstream field names and checksums and reads back identically', async () => {
    const path = join(dir, 'written.jsonl');
    writePkuSafeRlhf(path, [base]);
    const row = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(row)).toEqual(Object.keys(JSON.parse(sampleLines[0] as string) as object));
    expect(row.response_1_sha256).toBe(pkuResponseSha256(base.prompt, base.responses[1]));
    const { records, problems } = await readPkuSafeRlhf(path);
    expect(problems).toEqual([]);
    const { source, ...rest } = records[0] as PreferenceRecord;
    const { source: baseSource, ...baseRest } = base;
    expect(rest).toEqual(baseRest);
    expect(source).toMatchObject(baseSource ?? {});
  });

  it('refuses records without safety labels, and multi-turn records unless asked to flatten', () => {
    const noSafety: PreferenceRecord = { prompt: 'p', responses: ['a', 'b'], betterResponseId: 1 };
    expect(() => writePkuSafeRlhf(join(dir, 'x.jsonl'), [noSafety])).toThrow(DataWriteError);
    const multi: PreferenceRecord = { ...base, context: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] };
    expect(() => writePkuSafeRlhf(join(dir, 'y.jsonl'), [multi])).toThrow(/flatten/);
    writePkuSafeRlhf(join(dir, 'z.jsonl'), [multi], { context: 'flatten' });
    const row = JSON.parse(readFileSync(join(dir, 'z.jsonl'), 'utf8')) as { prompt: string };
    expect(row.prompt).toBe('Human: hi\n\nAssistant: hello\n\nHuman: How do I water basil?');
  });
});
