import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat, loadPreferences } from '../../src/data/formats.js';
import { readPairs } from '../../src/data/pairs.js';
import { DataFileError, DataFormatError } from '../../src/data/problems.js';
import { sharedData } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'pairs-'));
function file(name: string, rows: unknown[]): string {
  const p = join(dir, name);
  writeFileSync(p, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n'));
  return p;
}

describe('generic pairs loader', () => {
  it('reads string and conversational rows', async () => {
    const path = file('pairs.jsonl', [
      { prompt: 'hi', chosen: 'hello', rejected: 'go away', extra: 1 },
      {
        prompt: [
          { role: 'system', content: 'be nice' },
          { role: 'user', content: 'q1' },
          { role: 'assistant', content: 'a1' },
          { role: 'user', content: 'q2' },
        ],
        chosen: [{ role: 'assistant', content: 'good' }],
        rejected: [{ role: 'assistant', content: 'bad' }],
      },
    ]);
    const { records, problems } = await readPairs(path);
    expect(problems).toEqual([]);
    expect(records[0]).toMatchObject({ prompt: 'hi', responses: ['hello', 'go away'], betterResponseId: 0 });
    expect(records[0]?.context).toBeUndefined();
    expect(records[1]).toMatchObject({ prompt: 'q2', responses: ['good', 'bad'] });
    expect(records[1]?.context?.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
  });

  it('reports wrong roles and missing fields with field paths', async () => {
    const path = file('badpairs.jsonl', [
      { prompt: [{ role: 'assistant', content: 'x' }], chosen: 'a', rejected: 'b' },
      { prompt: 'p', chosen: [{ role: 'user', content: 'a' }], rejected: 'b' },
      { prompt: 'p', chosen: 'a' },
    ]);
    const { records, problems } = await readPairs(path);
    expect(records).toHaveLength(0);
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [1, 'prompt.0.role'],
      [2, 'chosen.0.role'],
      [3, 'rejected'],
    ]);
  });
});

describe('format detection', () => {
  it('tells the three formats apart by keys, skipping unparsable first lines', async () => {
    expect(await detectFormat(sharedData('pku_saferlhf_sample60.jsonl'))).toBe('pku');
    expect(await detectFormat(sharedData('hh_rlhf_harmless_sample50.jsonl'))).toBe('hh');
    expect(await detectFormat(file('p.jsonl', ['{oops', { prompt: 'a', chosen: 'b', rejected: 'c' }]))).toBe('pairs');
  });

  it('says which keys it found when it cannot tell', async () => {
    const path = file('unknown.jsonl', [{ question: 'a', answer: 'b' }]);
    await expect(detectFormat(path)).rejects.toThrow(DataFormatError);
    await expect(detectFormat(path)).rejects.toThrow(/keys \[question, answer\]/);
  });

  it('loads through one entry point and names a missing file', async () => {
    const r = await loadPreferences(sharedData('hh_rlhf_harmless_sample50.jsonl'));
    expect(r.format).toBe('hh');
    expect(r.records).toHaveLength(50);
    await expect(loadPreferences(join(dir, 'missing.jsonl'))).rejects.toThrow(DataFileError);
  });
});
