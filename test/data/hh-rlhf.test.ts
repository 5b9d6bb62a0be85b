import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHhDialogue, readHhRlhf } from '../../src/data/hh-rlhf.js';
import { promptMessages } from '../../src/data/record.js';
import { sharedData } from '../helpers/shared.js';

const HH = sharedData('hh_rlhf_harmless_sample50.jsonl');
const rows = readFileSync(HH, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { chosen: string; rejected: string });

describe('HH-RLHF loader', () => {
  it('loads the 50 sample records; prefix + final turn rebuilds both dialogues exactly', async () => {
    const { records, problems } = await readHhRlhf(HH);
    expect(problems).toEqual([]);
    expect(records).toHaveLength(50);
    records.forEach((r, i) => {
      const row = rows[i] as { chosen: string; rejected: string };
      // Rebuild the raw text from the split; the raw dialogues have the same turns modulo surrounding whitespace.
      const render = (resp: string) =>
        [...promptMessages(r), { role: 'assistant', content: resp }]
          .map((m) => `\n\n${m.role === 'user' ? 'Human' : 'Assistant'}: ${m.content}`)
          .join('');
      const squash = (s: string) => s.replace(/[ \t]+(\n|$)/g, '$1').replace(/: +/g, ': ');
      expect(squash(render(r.responses[0]))).toBe(squash(row.chosen).replace(/\s+$/, ''));
      expect(squash(render(r.responses[1]))).toBe(squash(row.rejected).replace(/\s+$/, ''));
      expect(r.betterResponseId).toBe(0);
      expect(r.isSafe).toBeUndefined();
    });
  });

  it('splits the first sample by hand: 3 human turns, the last one is the prompt', async () => {
    const { records } = await readHhRlhf(HH);
    const r = records[0];
    expect(r?.prompt).toBe('okay some of these do not have anything to do with pens');
    expect(r?.context?.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(r?.context?.[0]?.content).toBe('what are some pranks with a pen i can do?');
    expect(r?.responses[0]).toMatch(/^No, sorry!/);
    expect(r?.responses[1]).toMatch(/^There are lots of funny things/);
    // A single-turn sample has no context.
    const single = records.find((x) => x.context === undefined);
    expect(single).toBeDefined();
  });

  it('splits a turn only at "\\n\\nHuman:"/"\\n\\nAssistant:" boundaries', () => {
    const d = parseHhDialogue('\n\nHuman: say "Human: hi"\n\nAssistant: Human: hi');
    expect(d).toEqual({
      turns: [
        { role: 'user', content: 'say "Human: hi"' },
        { role: 'assistant', content: 'Human: hi' },
      ],
    });
  });

  it('reports dialogues that cannot be split, with line numbers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hh-'));
    const path = join(dir, 'bad.jsonl');
    const lines = [
      JSON.stringify({ chosen: '\n\nHuman: a\n\nAssistant: b', rejected: '\n\nHuman: X\n\nAssistant: c' }),
      JSON.stringify({ chosen: '\n\nHuman: a', rejected: '\n\nHuman: a\n\nAssistant: c' }),
      JSON.stringify({ chosen: 'preamble\n\nHuman: a\n\nAssistant: b', rejected: '\n\nHuman: a\n\nAssistant: c' }),
      JSON.stringify({ chosen: 3, rejected: 'x' }),
      JSON.stringify({ chosen: '\n\nHuman: a\n\nAssistant: b', rejected: '\n\nHuman: a\n\nAssistant: c' }),
    ];
    writeFileSync(path, lines.join('\n'));
    const { records, problems } = await readHhRlhf(path);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ prompt: 'a', responses: ['b', 'c'] });
    expect(problems.map((p) => [p.line, p.kind, p.field])).toEqual([
      [1, 'dialogue', undefined],
      [2, 'dialogue', 'chosen'],
      [3, 'dialogue', 'chosen'],
      [4, 'schema', 'chosen'],
    ]);
    expect(problems[0]?.message).toMatch(/differ at turn 1/);
  });
});
