// `safealign eval` on tiny models built here: report files, numbers consistent with responses.jsonl, names, the gold judge on world prompts, errors for bad input.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pairwiseRougeL, selfBleu, withinGroupDiversity } from '../../src/eval/diversity.js';
import { evaluateModels, type EvalModelsReport } from '../../src/eval/evaluate-models.js';
import { EvalModelsConfigSchema } from '../../src/eval/models-config.js';
import { buildPrompts } from '../../src/world/prompts.js';
import { worldVocabulary } from '../../src/world/lexicon.js';
import { PKU_SAMPLE as PKU, pkuTexts, saveTinyFolders } from '../helpers/tiny-cli-models.js';

const dir = mkdtempSync(join(tmpdir(), 'eval-cli-'));
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const cli = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env });
const small = ['--max-new-tokens', '8', '--elo-rounds', '20', '--batch-size', '8'];
const judges = (d: string) => ['--reward', join(d, 'reward'), '--cost', join(d, 'cost')];

interface Row {
  model: string;
  reward: number;
  cost: number;
  response: string;
}

/** Tiny GPT-2 actors (two seeds), a reward model and a cost model with a shorter context (40), all on one word-level tokenizer. */
function buildModels(d: string, texts: string[]): void {
  saveTinyFolders(d, texts, { sft: { seed: 1 }, other: { seed: 2 }, reward: { seed: 3, kind: 'reward' }, cost: { seed: 4, kind: 'cost', context: 40 } });
}

beforeAll(() => {
  buildModels(dir, pkuTexts());
  const all = buildPrompts(1234, 0.2);
  const risky = all.filter((p) => p.kind === 'risky');
  const world = all.filter((p) => p.kind === 'benign').slice(0, 20).flatMap((p, i) => [p, risky[i * 7] ?? p]);
  writeFileSync(join(dir, 'world-prompts.jsonl'), world.map((p) => JSON.stringify({ prompt: p.prompt, kind: p.kind })).join('\n') + '\n');
  buildModels(join(dir, 'world'), [...world.map((p) => p.prompt), worldVocabulary().join(' ')]);
});

describe('safealign eval', () => {
  const out = join(dir, 'pku');
  let report: EvalModelsReport;
  let rows: Row[];

  it('writes report.json, report.html and responses.jsonl whose numbers agree', () => {
    const text = cli('--model', join(dir, 'sft'), '--model', join(dir, 'other'), '--name', 'base', '--name', 'tuned', '--prompts', PKU, ...judges(dir), '--out', out, '--samples', '2', '--max-prompts', '6', ...small);
    report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as EvalModelsReport;
    rows = readFileSync(join(out, 'responses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
    expect(Object.keys(report.models)).toEqual(['base', 'tuned']);
    expect(report.prompts).toMatchObject({ format: 'pku', read: 60, unreadable: 0, used: 6 });
    // prompts longer than context 64 − 8 new tokens (or than the cost model's 40 − 1) are skipped, by file:line
    expect(report.prompts.fit.total).toBe(60);
    expect(report.prompts.fit.skipped).toBeGreaterThan(0);
    expect(report.prompts.fit.skippedAt[0]).toMatch(/pku_saferlhf_sample60\.jsonl:\d+$/);
    expect(rows).toHaveLength(2 * 12);
    for (const name of ['base', 'tuned']) {
      const mine = rows.filter((r) => r.model === name);
      const m = report.models[name];
      expect(m?.n).toBe(12);
      expect(m?.harmfulRate).toBeCloseTo(mine.filter((r) => r.cost > 0).length / 12, 12);
      expect(m?.meanReward).toBeCloseTo(mine.reduce((s, r) => s + r.reward, 0) / 12, 10);
      expect(m?.meanCost).toBeCloseTo(mine.reduce((s, r) => s + r.cost, 0) / 12, 10);
      expect(m?.responseLength).toBeGreaterThan(0);
      expect(m?.responseLength).toBeLessThanOrEqual(8);
      // the reward model reads 64 tokens: nothing cut; the cost model's 40 cut some responses (their start)
      expect(m?.truncation.reward).toMatchObject({ maxLength: 64, total: 12, truncated: 0, skipped: 0 });
      expect(m?.truncation.cost).toMatchObject({ maxLength: 40, total: 12, skipped: 0 });
      expect(m?.gold).toBeUndefined();
      // diversity of the same responses: across prompts (all 12 < --diversity-sample) and within each prompt's 2 samples
      const texts = mine.map((r) => r.response);
      expect(m?.selfBleu).toBeCloseTo(selfBleu(texts), 12);
      expect(m?.rougeL).toBeCloseTo(pairwiseRougeL(texts), 12);
      const within = withinGroupDiversity(texts, 2);
      expect(m?.withinPrompt).toEqual({ selfBleu: within.selfBleu, rougeL: within.rougeL });
      expect(m?.embeddingDiversity).toBeGreaterThan(0);
      expect(m?.embeddedBy).toBe(join(dir, name === 'base' ? 'sft' : 'other'));
    }
    expect((report.models.base?.truncation.cost.truncated ?? 0) + (report.models.tuned?.truncation.cost.truncated ?? 0)).toBeGreaterThan(0);
    expect(Object.keys(report.arena)).toEqual(['helpfulness', 'harmlessness']);
    // the win rates are the paired comparisons of responses.jsonl: reward higher wins, cost lower wins
    const base = rows.filter((r) => r.model === 'base');
    const tuned = rows.filter((r) => r.model === 'tuned');
    const share = (f: (a: Row, b: Row) => boolean) => base.filter((a, i) => f(a, tuned[i] as Row)).length / 12;
    expect(report.arena.helpfulness?.pairs).toEqual([{ a: 'base', b: 'tuned', win: share((a, b) => a.reward > b.reward), tie: share((a, b) => a.reward === b.reward), loss: share((a, b) => a.reward < b.reward), n: 12 }]);
    expect(report.arena.harmlessness?.pairs).toEqual([{ a: 'base', b: 'tuned', win: share((a, b) => a.cost < b.cost), tie: share((a, b) => a.cost === b.cost), loss: share((a, b) => a.cost > b.cost), n: 12 }]);
    const elo = report.arena.harmlessness?.elo ?? [];
    expect(elo.map((e) => e.model).sort()).toEqual(['base', 'tuned']);
    // the model that wins more harmlessness matches rates higher
    const h = report.arena.harmlessness?.pairs[0];
    if (h && h.win !== h.loss) expect(elo[0]?.model).toBe(h.win > h.loss ? 'base' : 'tuned');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/<svg[\s\S]*<\/html>/);
    expect(html).toContain('base vs tuned');
    expect(text).toContain(`prompts: 60 read from ${PKU} (pku), 0 unreadable lines; ${report.prompts.fit.skipped} of 60 skipped (no room for 8 new tokens in a model's context or for a response in a score model's); 6 used × 2 samples`);
    expect(text).toMatch(/base: harmful [\d.]+% \[[\d.]+%, [\d.]+%\], reward -?[\d.]+, cost -?[\d.]+/);
    expect(text).toMatch(/self-BLEU [\d.]+, ROUGE-L [\d.]+ \(same prompt: self-BLEU [\d.]+, ROUGE-L [\d.]+\), embedding diversity [\d.]+/);
    for (const th of ['self-BLEU', 'ROUGE-L (same prompt)', 'embedding diversity']) expect(html).toContain(`<th>${th}</th>`);
    expect(text).toMatch(/cost model: \d+ of 12 responses truncated to 40 tokens \(response end kept\), 0 skipped/);
    expect(text).toMatch(/helpfulness: base vs tuned: win [\d.]+%, tie [\d.]+%, loss [\d.]+% \(12 pairs\)/);
  });

  it('one model under two names ties every match (same seed, same responses); --json prints the summary; folder names are the default keys', () => {
    const json = cli('--model', `${join(dir, 'sft')},${join(dir, 'sft')}`, '--name', 'a,b', '--prompts', PKU, ...judges(dir), '--out', join(dir, 'same'), '--max-prompts', '4', '--json', ...small);
    const summary = JSON.parse(json) as Omit<EvalModelsReport, 'settings'>;
    expect(summary).not.toHaveProperty('settings');
    expect(summary.models.a?.meanReward).toBe(summary.models.b?.meanReward);
    for (const arena of Object.values(summary.arena)) expect(arena.pairs[0]).toMatchObject({ win: 0, tie: 1, loss: 0, n: 4 });
    expect(summary.models.a?.withinPrompt).toBeUndefined();
    const byFolder = JSON.parse(cli('--model', join(dir, 'sft'), '--model', join(dir, 'other'), '--prompts', PKU, ...judges(dir), '--out', join(dir, 'folders'), '--max-prompts', '2', '--json', ...small)) as EvalModelsReport;
    expect(Object.keys(byFolder.models)).toEqual(['sft', 'other']);
    // one embedding space for both (a score model folder embeds as well as a causal LM): the same responses, the same diversity
    const shared = JSON.parse(cli('--model', `${join(dir, 'sft')},${join(dir, 'sft')}`, '--name', 'a,b', '--prompts', PKU, ...judges(dir), '--out', join(dir, 'shared'), '--max-prompts', '4', '--embedding-model', join(dir, 'reward'), '--json', ...small)) as EvalModelsReport;
    expect(shared.models.a?.embeddedBy).toBe(join(dir, 'reward'));
    expect(shared.models.a?.embeddingDiversity).toBe(shared.models.b?.embeddingDiversity);
    expect(shared.models.a?.embeddingDiversity).not.toBe(summary.models.a?.embeddingDiversity);
  });

  it('--harm-classifier gives the harmful rate by its verdict (the cost model\'s kept beside it); --raw samples and scores without the chat template', () => {
    const args = ['--model', join(dir, 'sft'), '--prompts', PKU, ...judges(dir), '--max-prompts', '4', '--samples', '2', ...small];
    cli(...args, '--out', join(dir, 'classified'), '--harm-classifier', join(dir, 'cost'), '--harm-classifier-threshold', '0.05');
    const r = JSON.parse(readFileSync(join(dir, 'classified', 'report.json'), 'utf8')) as EvalModelsReport;
    const lines = readFileSync(join(dir, 'classified', 'responses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row & { classifier: number });
    const m = r.models.sft;
    expect(m?.harmfulBy).toBe('classifier');
    // the classifier is the cost model's folder: same scores, judged at its own threshold
    expect(lines.map((l) => l.classifier)).toEqual(lines.map((l) => l.cost));
    expect(m?.harmfulRate).toBeCloseTo(lines.filter((l) => l.classifier > 0.05).length / lines.length, 12);
    expect(m?.costHarmfulRate).toBeCloseTo(lines.filter((l) => l.cost > 0).length / lines.length, 12);
    cli(...args, '--out', join(dir, 'raw'), '--raw');
    cli(...args, '--out', join(dir, 'templated'));
    const responses = (d: string) => readFileSync(join(dir, d, 'responses.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as Row).response);
    expect(responses('raw')).not.toEqual(responses('templated'));
    expect((JSON.parse(readFileSync(join(dir, 'templated', 'report.json'), 'utf8')) as EvalModelsReport).models.sft?.harmfulBy).toBe('cost model');
  });

  it('--verbalized k: asks for k answers; a model that writes no list has every item counted malformed with its problems, unscored', () => {
    // models whose context holds the request for a list (each unknown word one token)
    const d = join(dir, 'long');
    saveTinyFolders(d, pkuTexts(), { sft: { seed: 1, context: 200 }, reward: { seed: 3, kind: 'reward', context: 200 }, cost: { seed: 4, kind: 'cost', context: 200 } });
    const out = join(dir, 'verbalized');
    const text = cli('--model', join(d, 'sft'), '--prompts', PKU, ...judges(d), '--out', out, '--max-prompts', '3', '--verbalized', '3', '--verbalized-attempts', '2', ...small);
    const r = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as EvalModelsReport;
    const m = r.models.sft;
    expect(m?.verbalized).toMatchObject({ k: 3, answered: 0, malformed: 3, meanAttempts: 2 });
    expect(m?.verbalized?.problems[0]?.source).toMatch(/pku_saferlhf_sample60\.jsonl:\d+$/);
    expect(m?.verbalized?.problems[0]?.problems.join(' ')).toMatch(/no line ends in a probability|has no probability|expected 3 answers/);
    // no answer, no score: the means are undefined rather than the scores of a guessed answer
    expect(m?.meanReward).toBeNull();
    const rows = readFileSync(join(out, 'responses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row & { verbalized: { problems: string[]; attempts: number } });
    expect(rows.map((x) => [x.response, x.reward, x.verbalized.attempts])).toEqual([['', null, 2], ['', null, 2], ['', null, 2]]);
    expect(text).toMatch(/verbalized \(k = 3\): 0 answered from a parsed list, 3 without one after every attempt \(unscored\); 2\.00 generations per prompt/);
  });

  it('adds the gold oracle as a judge on the built-in world\'s prompts', async () => {
    const w = join(dir, 'world');
    const r = JSON.parse(cli('--model', join(w, 'sft'), '--model', join(w, 'other'), '--prompts', join(dir, 'world-prompts.jsonl'), ...judges(w), '--out', join(w, 'eval'), '--max-prompts', '10', '--json', ...small)) as EvalModelsReport;
    expect(Object.keys(r.arena)).toEqual(['helpfulness', 'harmlessness', 'gold']);
    for (const m of Object.values(r.models)) {
      expect(m.gold?.nRisky).toBeGreaterThan(0);
      expect(m.gold?.harmfulRate).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(m.gold?.helpfulness)).toBe(true);
    }
    const g = r.arena.gold?.pairs[0];
    expect((g?.win ?? 0) + (g?.tie ?? 0) + (g?.loss ?? 0)).toBeCloseTo(1, 12);
    // --gold off drops it
    const off = await evaluateModels(EvalModelsConfigSchema.parse({ model: [join(w, 'sft')], prompts: join(dir, 'world-prompts.jsonl'), reward: join(w, 'reward'), cost: join(w, 'cost'), out: join(w, 'eval-off'), maxPrompts: 2, maxNewTokens: 8, gold: 'off' }));
    expect(Object.keys(off.arena)).toEqual(['helpfulness', 'harmlessness']);
  });

  it('says what is wrong with bad input', async () => {
    const config = (extra: Record<string, unknown>) => EvalModelsConfigSchema.parse({ model: [join(dir, 'sft')], prompts: PKU, reward: join(dir, 'reward'), cost: join(dir, 'cost'), out: join(dir, 'bad'), maxNewTokens: 8, ...extra });
    // through the CLI: the message without a stack
    expect(() => cli('--model', join(dir, 'sft'), '--model', join(dir, 'sft'), '--prompts', PKU, ...judges(dir), '--out', join(dir, 'bad'))).toThrow(/safealign: two models are named 'sft' \(the folder name\); give each a distinct --name/);
    expect(() => cli('--prompts', PKU, ...judges(dir), '--out', join(dir, 'bad'))).toThrow(/model: /);
    await expect(evaluateModels(config({ model: [join(dir, 'sft'), join(dir, 'other')], name: ['x'] }))).rejects.toThrow(/--name: 1 names for 2 models/);
    await expect(evaluateModels(config({ reward: join(dir, 'cost') }))).rejects.toThrow(/--reward .*: expected a reward model, found a cost model/);
    await expect(evaluateModels(config({ model: [join(dir, 'reward')] }))).rejects.toThrow(/--model .*: expected a causal LM folder, found a reward model/);
    writeFileSync(join(dir, 'empty.jsonl'), '{"text": "no prompt"}\n');
    await expect(evaluateModels(config({ prompts: join(dir, 'empty.jsonl') }))).rejects.toThrow(/empty\.jsonl: no prompt could be read \(1 unreadable lines\)/);
    await expect(evaluateModels(config({ maxNewTokens: 64 }))).rejects.toThrow(/none of the 60 prompts fits/);
  });
});
