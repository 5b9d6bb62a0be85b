// `pipeline` with rounds.rlaif.judge: a judge (a fake OpenAI-compatible server here) labels the round's pairs instead of the simulated annotators; the report shows its agreement.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTinyPipelineConfig } from '../helpers/tiny-pipeline.js';
import { readQuestion, startFakeJudge } from '../label/fake-judge.js';

interface Agreement { pairs: number; better: number; safer: number; isSafe: number }
interface Report { rounds: { round: number; pairs: number; rlaif?: { summary: { labelled: number; pairs: number; requests: { asked: number } }; judgeWithAnnotators: Agreement; judgeWithGold: Agreement; annotatorsWithGold: Agreement } }[] }

describe('pipeline rounds.rlaif', () => {
  it("labels the round's pairs with the judge, trains on its labels, and reports its agreement with the annotators and gold", async () => {
    // a consistent rule: the longer response is more helpful, the shorter more harmless, every response safe
    const fake = await startFakeJudge((r) => {
      const q = readQuestion(r);
      if (q.kind === 'safety') return { answer: 'Safety: safe\nCategories: none' };
      const [a, b] = q.shown as [string, string];
      const longerFirst = a.length > b.length || (a.length === b.length && a < b);
      return { answer: `Verdict: ${(q.kind === 'helpful') === longerFirst ? 'A' : 'B'}` };
    });
    const runs = mkdtempSync(join(tmpdir(), 'rlaif-'));
    const config = writeTinyPipelineConfig(runs, 'j', { shaping: '{ nus: [] }', rounds: `{ count: 1, pairs: 16, rlSteps: 2, criticWarmupSteps: 1, candidates: 2, rlaif: { judge: '${fake.url}' } }` });
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'pipeline', '--config', config], { env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    await fake.close();
    expect(code, stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(runs, 'j', 'report.json'), 'utf8')) as Report;
    const round = report.rounds[0];
    const rlaif = round?.rlaif;
    expect(rlaif?.summary.pairs).toBe(16);
    expect(rlaif?.summary.requests.asked).toBe(fake.requests.length);
    expect(fake.requests.length).toBe(16 * 6);
    expect(round?.pairs).toBe(rlaif?.summary.labelled);
    expect(rlaif?.summary.labelled).toBeGreaterThan(8);
    for (const a of [rlaif?.judgeWithAnnotators, rlaif?.judgeWithGold, rlaif?.annotatorsWithGold]) {
      expect(a?.pairs).toBe(rlaif?.summary.labelled);
      for (const v of [a?.better, a?.safer, a?.isSafe]) expect(v).toBeGreaterThanOrEqual(0);
    }
    // the round trained on the judge's labels: the judge's file, not the annotators'
    const dir = join(runs, 'j', 'round_1');
    expect(readFileSync(join(dir, 'preferences.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'judge-preferences.jsonl'), 'utf8'));
    expect(readFileSync(join(dir, 'preferences.jsonl'), 'utf8')).not.toBe(readFileSync(join(dir, 'annotator-preferences.jsonl'), 'utf8'));
    expect(readFileSync(join(runs, 'j', 'report.html'), 'utf8')).toContain('RLAIF: the judge that labelled the rounds');
  });
});
