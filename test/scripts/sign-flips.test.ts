// The mutation check (scripts/sign-flips.py) only proves something while its flips still apply: a flip whose original text
// has moved out of the source would be reported by the script, but nobody runs it on every change. This checks, in the
// suite, that every flip of scripts/sign-flips.json still finds its original text exactly once, changes it, and names a
// test file that exists.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Flip {
  name: string;
  file: string;
  edits: [string, string][];
  test?: string;
}
interface Spec {
  defaultTest: string;
  sections: { section: string; flips: Flip[] }[];
}

const spec = JSON.parse(readFileSync('scripts/sign-flips.json', 'utf8')) as Spec;
const flips = spec.sections.flatMap((s) => s.flips);
const occurrences = (text: string, part: string): number => text.split(part).length - 1;

describe('scripts/sign-flips.json', () => {
  it('names every flip once and every test file it runs exists', () => {
    expect(flips.length).toBeGreaterThan(100);
    expect(new Set(flips.map((f) => f.name)).size).toBe(flips.length);
    const missing = [...new Set([spec.defaultTest, ...flips.flatMap((f) => (f.test ? [f.test] : []))])].filter((t) => !existsSync(t));
    expect(missing).toEqual([]);
  });

  it('every flip still applies: each original text found exactly once in its source file, and replaced by another', () => {
    const stale: string[] = [];
    for (const flip of flips) {
      if (!existsSync(flip.file)) {
        stale.push(`${flip.name}: no file ${flip.file}`);
        continue;
      }
      let text = readFileSync(flip.file, 'utf8');
      for (const [original, flipped] of flip.edits) {
        const n = occurrences(text, original);
        if (n !== 1) stale.push(`${flip.name}: ${JSON.stringify(original)} found ${n} times in ${flip.file} (the code moved: update scripts/sign-flips.json)`);
        if (flipped === original) stale.push(`${flip.name}: its flipped text equals the original`);
        text = text.replace(original, flipped);
      }
    }
    expect(stale).toEqual([]);
  });
});
