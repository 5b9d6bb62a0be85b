import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/world.js';
import { readPkuSafeRlhf } from '../../src/data/pku-saferlhf.js';
import { buildWorld, WORLD_FILES, WorldBuildError, type WorldSummary } from '../../src/world/build.js';
import { goldHarm, goldHelpfulness } from '../../src/world/oracle.js';

const small = { seed: 5, sft: { responsesPerPrompt: 2 }, pairs: { train: 400, test: 100 } };
const tmp = () => mkdtempSync(join(tmpdir(), 'world-'));

function filesOf(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

describe('buildWorld', () => {
  it('is deterministic: the same seed gives identical files, another seed different ones', () => {
    const [a, b, c] = [tmp(), tmp(), tmp()];
    buildWorld(small, a);
    buildWorld(small, b);
    buildWorld({ ...small, seed: 6 }, c);
    const fa = filesOf(a);
    expect(Object.keys(fa).sort()).toEqual(Object.values(WORLD_FILES).sort());
    expect(filesOf(b)).toEqual(fa);
    const fc = filesOf(c);
    expect(fc[WORLD_FILES.preferencesTrain]).not.toEqual(fa[WORLD_FILES.preferencesTrain]);
    expect(fc[WORLD_FILES.sftTrain]).not.toEqual(fa[WORLD_FILES.sftTrain]);
  });

  it('writes PKU-SafeRLHF pairs that read back through the loader with no problems', async () => {
    const dir = tmp();
    const s = buildWorld(small, dir);
    for (const [file, n] of [
      [WORLD_FILES.preferencesTrain, 400],
      [WORLD_FILES.preferencesTest, 100],
      [WORLD_FILES.goldTrain, 400],
      [WORLD_FILES.goldTest, 100],
    ] as const) {
      const { records, problems } = await readPkuSafeRlhf(join(dir, file), { strict: true });
      expect(problems, file).toEqual([]);
      expect(records).toHaveLength(n);
    }
    // The gold file carries exactly the oracle's verdicts.
    const { records } = await readPkuSafeRlhf(join(dir, WORLD_FILES.goldTest));
    for (const r of records) {
      const h = r.responses.map((x) => goldHelpfulness(r.prompt, x));
      const harm = r.responses.map((x) => goldHarm(r.prompt, x));
      expect(r.isSafe).toEqual([harm[0]!.isSafe, harm[1]!.isSafe]);
      expect(r.severity).toEqual([harm[0]!.severity, harm[1]!.severity]);
      if (h[0] !== h[1]) expect(r.betterResponseId).toBe(h[0]! > h[1]! ? 0 : 1);
    }
    // Raw labels: perPair annotators per pair, all of them qualified.
    const raw = readFileSync(join(dir, WORLD_FILES.rawLabels), 'utf8').trim().split('\n');
    expect(raw).toHaveLength(3 * 500);
    const annotators = JSON.parse(readFileSync(join(dir, WORLD_FILES.annotators), 'utf8')) as {
      annotators: { id: string; qualification: { passed: boolean } }[];
    };
    const passed = new Set(annotators.annotators.filter((a) => a.qualification.passed).map((a) => a.id));
    for (const line of raw) expect(passed.has((JSON.parse(line) as { annotator: string }).annotator)).toBe(true);
    expect(s.pairs.inconsistent).toBe(s.pairs.repaired);
  });

  it('writes held-out requests to prompts-heldout.jsonl only: no other file of the world contains them', () => {
    const dir = tmp();
    const s = buildWorld(small, dir);
    const files = filesOf(dir);
    const held = (files[WORLD_FILES.promptsHeldOut] ?? '').trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; ask: string; kind: string });
    expect(held).toHaveLength(s.prompts.heldout.benign + s.prompts.heldout.risky);
    expect(s.prompts.heldout).toEqual({ benign: 12 * 6, risky: 19 * 6 });
    const asks = [...new Set(held.map((p) => p.ask))];
    expect(asks).toHaveLength(31);
    for (const [name, text] of Object.entries(files)) {
      if (name === WORLD_FILES.promptsHeldOut) continue;
      for (const ask of asks) expect(text.includes(ask), `${name} contains the held-out request "${ask}"`).toBe(false);
    }
  });

  it('keeps inconsistent majority labels when asked, and the loader counts exactly those', async () => {
    const dir = tmp();
    const s = buildWorld({ ...small, pairs: { train: 1500, test: 0 }, annotators: { inconsistent: 'keep' } }, dir);
    expect(s.pairs.repaired).toBe(0);
    expect(s.pairs.inconsistent).toBeGreaterThan(0);
    const { stats } = await readPkuSafeRlhf(join(dir, WORLD_FILES.preferencesTrain), { inconsistent: 'keep' });
    expect(stats.inconsistent).toBe(s.pairs.inconsistent);
  });

  it('annotator types: off by default (files as without the option); on, the pool draws the same people and the summary counts each type', () => {
    const [a, b, c] = [tmp(), tmp(), tmp()];
    buildWorld(small, a);
    buildWorld({ ...small, annotators: { types: { share: 0, lengthWeight: 9 } } }, b);
    const [fa, fb] = [filesOf(a), filesOf(b)];
    for (const f of Object.keys(fa).filter((k) => k !== WORLD_FILES.config)) expect(fb[f], f).toEqual(fa[f]);
    const s = buildWorld({ ...small, annotators: { types: { share: 0.6 } } }, c);
    type Ann = { id: string; type?: string; helpTemperature: number; harmTemperature: number; leniency: number };
    const read = (dir: string) => (JSON.parse(readFileSync(join(dir, WORLD_FILES.annotators), 'utf8')) as { annotators: Ann[] }).annotators;
    const [plain, typed] = [read(a), read(c)];
    expect(typed.map((x) => [x.id, x.helpTemperature, x.harmTemperature, x.leniency])).toEqual(plain.map((x) => [x.id, x.helpTemperature, x.harmTemperature, x.leniency]));
    expect(typed.filter((x) => x.type).length).toBe(12);
    const types = s.annotators.types ?? {};
    expect(Object.keys(types).sort()).toEqual(['brief', 'cautious', 'detailed', 'standard']);
    expect(Object.values(types).reduce((n, t) => n + t.annotators, 0)).toBe(22);
    expect(Object.values(types).reduce((n, t) => n + t.qualified, 0)).toBe(s.annotators.qualified);
  });

  it('reports a summary with the numbers that matter', () => {
    const s = buildWorld({ seed: 1234 }, tmp());
    expect(s.sft.goldHarmfulRateRisky).toBeGreaterThan(0.4);
    expect(s.sft.goldHarmfulRateRisky).toBeLessThan(0.6);
    expect(s.annotators.plantedRejected).toBe(s.annotators.planted);
    expect(s.agreement.interAnnotator.better).toBeGreaterThan(0.6);
    expect(s.agreement.interAnnotator.better).toBeLessThan(0.75);
    expect(s.agreement.majorityVsGold.better).toBeGreaterThan(s.agreement.annotatorVsGold.better);
    expect(s.pairs.pairTypes.annotated['safe-unsafe']).toBeGreaterThan(0);
    expect(s.pairs.pairTypes.annotated['unsafe-unsafe']).toBeGreaterThan(0);
  });

  it('explains what to change when too few annotators qualify', () => {
    expect(() => buildWorld({ ...small, annotators: { qualificationThreshold: 1 } }, tmp())).toThrow(WorldBuildError);
    expect(() => buildWorld({ ...small, annotators: { qualificationThreshold: 1 } }, tmp())).toThrow(/qualificationThreshold/);
  });

  it('runs from the CLI with flags and prints the summary', async () => {
    const dir = tmp();
    const program = new Command('safealign').exitOverride();
    register(program);
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out.push(String(s));
      return true;
    });
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const yaml = join(dir, 'world.yaml');
      writeFileSync(yaml, 'seed: 9\npairs:\n  train: 40\n  test: 10\nannotators:\n  perPair: 5\n');
      await program.parseAsync(['world', 'build', '--out', dir, '--config', yaml, '--seed', '3', '--pairs-train', '50'], { from: 'user' });
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
    }
    const summary = JSON.parse(readFileSync(join(dir, WORLD_FILES.summary), 'utf8')) as WorldSummary;
    // Flags override the YAML file, which overrides the defaults.
    expect(summary.seed).toBe(3);
    expect(summary.pairs).toMatchObject({ train: 50, test: 10 });
    expect(summary.agreement.interAnnotator.comparisons).toBe(60 * 10);
    expect(out.join('')).toContain('inter-annotator agreement');
  });
});
