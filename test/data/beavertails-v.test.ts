// BeaverTails-V-format loader on the sample the project ships (data/beavertails-v-sample) and on broken copies of it: records, images, file:line problems.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageInput, readBeaverTailsV, type ImagePreferenceRecord } from '../../src/data/beavertails-v.js';
import { DataFormatError, formatProblem } from '../../src/data/problems.js';
import { preprocessImages, readImageProcessor } from '../../src/models/index.js';

const SAMPLE_DIR = 'data/beavertails-v-sample';
const SAMPLE = join(SAMPLE_DIR, 'data.jsonl');
const lines = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l !== '');
const row = (i: number) => JSON.parse(lines[i] as string) as Record<string, unknown>;

/** A copy of the sample folder whose data.jsonl holds `body` lines (the images come along). */
function copyWith(body: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'btv-'));
  cpSync(join(SAMPLE_DIR, 'images'), join(dir, 'images'), { recursive: true });
  const path = join(dir, 'data.jsonl');
  writeFileSync(path, `${body.join('\n')}\n`);
  return path;
}

describe('BeaverTails-V reader', () => {
  it('reads the shipped sample: ids 1/2 become 0/1, both preferences, safety (booleans or yes/no), severities, image category', async () => {
    const { records, problems, stats } = await readBeaverTailsV(SAMPLE);
    expect(problems).toEqual([]);
    expect(stats).toMatchObject({ lines: 5, records: 5, unreadable: 0, inconsistent: 0 });
    const [knife, pills, , cup, carry] = records as [ImagePreferenceRecord, ImagePreferenceRecord, ImagePreferenceRecord, ImagePreferenceRecord, ImagePreferenceRecord];
    expect(knife).toMatchObject({
      prompt: 'How do I use this?',
      responses: [row(0).response_1, row(0).response_2],
      betterResponseId: 0, // more_helpful_response_id 1
      saferResponseId: 1, // safer_response_id 2
      isSafe: [false, true],
      severity: [2, 0],
      image: { path: 'images/knife.png' },
      imageCategory: 'dangerous_behavior',
      imageSeverity: 2,
      source: { file: SAMPLE, line: 1 },
    });
    expect(pills).toMatchObject({ betterResponseId: 1, saferResponseId: 1, severity: [3, 0] });
    expect(cup).toMatchObject({ betterResponseId: 1, saferResponseId: 0, isSafe: [true, true] }); // better_response_id 2; "yes"
    expect('base64' in cup.image && 'base64' in carry.image).toBe(true); // a data URL and bare base64
    expect(carry).toMatchObject({ isSafe: [false, false], severity: [1, 3] });
  });

  it("opens every record's image (path relative to the data file, data URL, bare base64) for the vision model's processor", async () => {
    const { records } = await readBeaverTailsV(SAMPLE);
    expect(imageInput(records[0] as ImagePreferenceRecord)).toBe(resolve(SAMPLE_DIR, 'images/knife.png'));
    const processor = readImageProcessor('reference/golden/tiny-llava-gpt2');
    const pixels = await preprocessImages(records.map(imageInput), processor as NonNullable<typeof processor>);
    expect(pixels.shape).toEqual([5, 3, 8, 8]);
    // line 5's base64 knife is the same picture as line 1's file
    const v = pixels.toNumbers();
    expect(v.slice(4 * 192, 5 * 192)).toEqual(v.slice(0, 192));
  });

  it('reports broken lines by number and keeps the rest: bad JSON, a missing field, a missing image, a bad flag, an id of 0', async () => {
    const missingField = { ...row(1) };
    delete missingField.response_2;
    const path = copyWith([
      lines[0] as string,
      '{"question": "How do I use this?", ',
      lines[2] as string,
      JSON.stringify(missingField),
      JSON.stringify({ ...row(0), image: 'images/nowhere.png' }),
      JSON.stringify({ ...row(0), is_response_1_safe: 'maybe' }),
      JSON.stringify({ ...row(0), safer_response_id: 0 }),
      lines[3] as string,
    ]);
    const { records, problems, stats } = await readBeaverTailsV(path);
    expect(records.map((r) => r.source?.line)).toEqual([1, 3, 8]);
    expect(stats).toMatchObject({ lines: 8, records: 3, unreadable: 5 });
    expect(problems.map((p) => [p.line, p.kind, p.field])).toEqual([
      [2, 'json', undefined],
      [4, 'schema', 'response_2'],
      [5, 'schema', 'image'],
      [6, 'schema', 'is_response_1_safe'],
      [7, 'schema', 'safer_response_id'],
    ]);
    expect(formatProblem(problems[2] as (typeof problems)[number])).toMatch(/data\.jsonl:5: schema: image: image file .*nowhere\.png not found/);
    expect(problems[4]?.message).toMatch(/expected response id 1 or 2, got 0/);
    await expect(readBeaverTailsV(path, { strict: true })).rejects.toThrow(DataFormatError);
    await expect(readBeaverTailsV(path, { strict: true })).rejects.toThrow(/data\.jsonl:2: json/);
  });

  it('counts contradictory safety labels (skipped by default) and keeps a record whose severity contradicts its label, with a warning', async () => {
    const path = copyWith([
      JSON.stringify({ ...row(0), safer_response_id: 1 }), // response 1 marked safer but unsafe, response 2 safe
      JSON.stringify({ ...row(0), response_2_severity_level: 2 }), // safe response with severity 2
      JSON.stringify({ ...row(0), image: 'data:text/plain;base64,aGVsbG8=' }),
    ]);
    const { records, problems, stats } = await readBeaverTailsV(path);
    expect(stats).toMatchObject({ inconsistent: 1, skippedInconsistent: 1, warnings: 1, records: 1 });
    expect(problems.find((p) => p.kind === 'inconsistent')?.message).toBe('response 1 is marked safer but labelled unsafe, while response 2 is labelled safe');
    expect(problems.find((p) => p.kind === 'label')).toMatchObject({ line: 2, field: 'response_2_severity_level', kept: true });
    expect(problems.find((p) => p.line === 3)?.message).toMatch(/data:image\/<type>;base64/);
    expect(records.map((r) => r.source?.line)).toEqual([2]);
    const kept = await readBeaverTailsV(path, { inconsistent: 'keep' });
    expect(kept.records).toHaveLength(2);
  });
});
