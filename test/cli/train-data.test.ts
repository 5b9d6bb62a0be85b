// `safealign train` on the shipped real samples in every format: reward from HH-RLHF and from {prompt, chosen, rejected}, with a tiny GPT-2.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePair } from '../../src/algorithms/common/batching.js';
import { fitPair } from '../../src/algorithms/common/truncation.js';
import { loadPreferences } from '../../src/data/formats.js';
import { readSftData } from '../../src/data/sft-examples.js';
import { createCausalLM, loadPretrained, parseModelConfig, savePretrained, ScoreModel, trainWordLevel, type Tokenizer } from '../../src/models/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { sharedData } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'train-data-'));
const CONTEXT = 96;
/** Runs the CLI; `ok` says whether it must succeed. Returns what it printed on stdout and stderr. */
const run = (ok: boolean, ...args: string[]): { stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' } });
  if ((r.status === 0) !== ok) throw new Error(`\`safealign ${args.join(' ')}\` exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
};
const cli = (...args: string[]): string => run(true, ...args).stdout;
const cliError = (...args: string[]): string => run(false, ...args).stderr;

interface PkuRow {
  prompt: string;
  response_0: string;
  response_1: string;
  is_response_0_safe: boolean;
  is_response_1_safe: boolean;
  better_response_id: 0 | 1;
  safer_response_id: 0 | 1;
  response_0_severity_level: number;
  response_1_severity_level: number;
}
const pkuFile = sharedData('pku_saferlhf_sample60.jsonl');
const hhFile = sharedData('hh_rlhf_harmless_sample50.jsonl');
let pku: PkuRow[];
const model = join(dir, 'gpt2');

beforeAll(() => {
  pku = readFileSync(pkuFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as PkuRow);
  const hh = readFileSync(hhFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { chosen: string; rejected: string });
  // {prompt, chosen, rejected} from the PKU records (more helpful response first), with one broken line (3)
  const pairs = pku.slice(0, 30).map((r) => JSON.stringify({ prompt: r.prompt, chosen: r[`response_${r.better_response_id}`], rejected: r[`response_${1 - r.better_response_id}` as 'response_0'] }));
  pairs.splice(2, 0, '{"prompt": "no answers here"}');
  writeFileSync(join(dir, 'pairs.jsonl'), `${pairs.join('\n')}\n`);
  // {prompt, response, is_safe}: every response of the first 40 PKU records on its own, one bad line (5); test: the rest
  const labels = (rs: PkuRow[]) => rs.flatMap((r) => [0, 1].map((i) => JSON.stringify({ prompt: r.prompt, response: i ? r.response_1 : r.response_0, is_safe: i ? r.is_response_1_safe : r.is_response_0_safe })));
  const train = labels(pku.slice(0, 40));
  train.splice(4, 0, '{"prompt": "p", "response": "r", "is_safe": "yes"}');
  writeFileSync(join(dir, 'labels.jsonl'), `${train.join('\n')}\n`);
  writeFileSync(join(dir, 'labels-test.jsonl'), `${labels(pku.slice(40)).join('\n')}\n`);
  // with severity levels: a bad level on line 3, no level on line 6; test: the rest with their levels
  const severities = (rs: PkuRow[]) => rs.flatMap((r) => [0, 1].map((i) => JSON.stringify({ prompt: r.prompt, response: i ? r.response_1 : r.response_0, is_safe: i ? r.is_response_1_safe : r.is_response_0_safe, severity_level: i ? r.response_1_severity_level : r.response_0_severity_level })));
  const sevTrain = severities(pku.slice(0, 40));
  sevTrain.splice(2, 0, '{"prompt": "p", "response": "r", "is_safe": false, "severity_level": 5}');
  sevTrain.splice(5, 0, '{"prompt": "p", "response": "r", "is_safe": true}');
  writeFileSync(join(dir, 'severity.jsonl'), `${sevTrain.join('\n')}\n`);
  writeFileSync(join(dir, 'severity-test.jsonl'), `${severities(pku.slice(40)).join('\n')}\n`);
  const tokenizer = trainWordLevel(
    [...pku.flatMap((r) => [r.prompt, r.response_0, r.response_1]), ...hh.flatMap((r) => [r.chosen, r.rejected]), 'BEGINNING OF CONVERSATION : USER ASSISTANT'],
    { vocabSize: 4000 },
  );
  manualSeed(0);
  savePretrained(model, createCausalLM(parseModelConfig({ model_type: 'gpt2', n_embd: 32, n_layer: 1, n_head: 2, n_positions: CONTEXT, vocab_size: tokenizer.vocabSize })), { tokenizer });
});

describe('train reward: any preference format', () => {
  it('HH-RLHF (detected): 50 dialogues split at the last Assistant turn (earlier turns rendered too), trained and evaluated', async () => {
    const out = cli('train', 'reward', '--model', model, '--train', hhFile, '--test', hhFile, '--out', join(dir, 'rm-hh'), '--score-batch-size', '16');
    expect(out).toContain(`train: 50 records from ${hhFile} (hh), 0 unreadable lines\n`);
    // what the CLI must count: each pair's prompt is the whole dialogue before the last Assistant turn, rendered by the template
    const tokenizer = loadPretrained(model).tokenizer as Tokenizer;
    const { records } = await loadPreferences(hhFile);
    const fits = records.map((r) => r.responses.map((resp) => fitPair(encodePair(tokenizer, r, resp), CONTEXT, 'response-end')));
    const skipped = records.flatMap((r, i) => (fits[i]?.includes(null) ? [`${hhFile}:${r.source?.line}`] : []));
    const truncated = fits.filter((f) => !f.includes(null) && f.some((p) => p?.truncated)).length;
    expect(records.filter((r) => r.context).length).toBeGreaterThan(20);
    expect(skipped.length).toBeGreaterThan(10);
    expect(out).toContain(`train: ${truncated} of 50 pairs truncated to ${CONTEXT} tokens (response end kept), ${skipped.length} skipped (prompt leaves no room for a response in ${CONTEXT} tokens): ${skipped.join(', ')}\n`);
    expect(out).toMatch(/reward model: test accuracy [\d.]+%\n/);
    const stored = JSON.parse(readFileSync(join(dir, 'rm-hh', 'training_result.json'), 'utf8')) as { format: string; steps: number };
    expect(stored).toMatchObject({ format: 'hh', steps: Math.ceil((50 - skipped.length) / 16) });
    expect((loadPretrained(join(dir, 'rm-hh')).model as ScoreModel).scoreType).toBe('reward');
  });

  it('{prompt, chosen, rejected} (detected), a broken line reported by file:line and skipped', () => {
    const file = join(dir, 'pairs.jsonl');
    const r = run(true, 'train', 'reward', '--model', model, '--train', file, '--out', join(dir, 'rm-pairs'), '--score-batch-size', '16');
    expect(r.stdout).toContain(`train: 30 records from ${file} (pairs), 1 unreadable lines\n`);
    expect(r.stderr).toMatch(new RegExp(`warning: ${file}:3: schema: chosen: `));
    expect(r.stdout).toMatch(/train: \d+ of 30 pairs truncated/);
    // --format overrides detection: read as PKU-SafeRLHF, no line fits, and the command says so
    const forced = cliError('train', 'reward', '--model', model, '--train', file, '--out', join(dir, 'rm-pairs-2'), '--format', 'pku');
    expect(forced).toContain(`warning: ${file}:1: schema: response_0: `);
    expect(forced).toContain(`${file}: no record could be read as pku (31 lines, 31 unreadable, 0 with contradictory labels); check the file or --format`);
  });

  it('a cost model refuses data without safety labels, saying what to give', () => {
    expect(cliError('train', 'cost', '--model', model, '--train', hhFile, '--out', join(dir, 'cm-hh'))).toMatch(/a cost model needs safety labels .* but this hh file has none.*--cost-data labels/);
    expect(cliError('train', 'cost', '--cost-data', 'labels', '--model', model, '--train', hhFile, '--out', join(dir, 'cm-hh'))).toMatch(/hh data has no safety labels/);
  });
});

describe('train cost --cost-data labels: the classification term on responses labelled safe or unsafe', () => {
  const safeShare = (rs: PkuRow[]) => rs.flatMap((r) => [r.is_response_0_safe, r.is_response_1_safe]);

  it('{prompt, response, is_safe} JSONL: 80 labels (a bad line named), sign accuracy on 40 held-out responses, scores split by label', () => {
    const file = join(dir, 'labels.jsonl');
    const r = run(true, 'train', 'cost', '--cost-data', 'labels', '--model', model, '--train', file, '--test', join(dir, 'labels-test.jsonl'), '--out', join(dir, 'cm-labels'), '--score-batch-size', '16', '--score-epochs', '3');
    expect(r.stdout).toContain(`train: 80 labelled responses from ${file} (labels), 1 unreadable lines\n`);
    expect(r.stderr).toContain(`warning: ${file}:5: schema: is_safe: `);
    expect(r.stdout).toMatch(/train: \d+ of 80 responses truncated to 96 tokens \(response end kept\), 0 skipped/);
    expect(r.stdout).toMatch(/cost model: test sign accuracy [\d.]+%\n/);
    const stored = JSON.parse(readFileSync(join(dir, 'cm-labels', 'training_result.json'), 'utf8')) as { costData: string; steps: number; test: { n: number; safeMean: number; unsafeMean: number; signAccuracy: number; accuracy: number } };
    expect(stored).toMatchObject({ costData: 'labels', format: 'labels', steps: 15, data: { train: { file, format: 'labels', lines: 81, unreadable: 1, used: 80 } } });
    const held = safeShare(pku.slice(40));
    expect(stored.test.n).toBe(held.length);
    expect(stored.test.accuracy).toBe(stored.test.signAccuracy);
    // three epochs on 80 labels already order the held-out responses by their label on average
    expect(stored.test.unsafeMean).toBeGreaterThan(stored.test.safeMean);
  });

  it('PKU-SafeRLHF expands into its per-response labels (two a record)', () => {
    const out = cli('train', 'cost', '--cost-data', 'labels', '--model', model, '--train', pkuFile, '--out', join(dir, 'cm-pku-labels'), '--score-batch-size', '32');
    expect(out).toContain(`train: 120 labelled responses from ${pkuFile} (pku: 60 records, two responses each), 0 unreadable lines\n`);
    expect(out).toMatch(/train: \d+ of 120 responses truncated/);
  });
});

describe('train cost --cost-data severity: a severity classifier (ordinal head) on severity levels', () => {
  it('reads levels with bad values named by file:line, skips responses without one, and reports accuracy, error and recall by level', () => {
    const file = join(dir, 'severity.jsonl');
    const out = join(dir, 'severity-model');
    const r = run(true, 'train', 'cost', '--cost-data', 'severity', '--model', model, '--train', file, '--test', join(dir, 'severity-test.jsonl'), '--out', out, '--score-batch-size', '16', '--score-epochs', '2');
    expect(r.stderr).toContain(`warning: ${file}:3: schema: severity_level: expected a severity level 0 (safe), 1 (minor), 2 (moderate) or 3 (severe), got 5`);
    expect(r.stderr).toContain(`warning: 1 responses without a severity level skipped: ${file}:6`);
    expect(r.stdout).toContain(`train: 81 labelled responses from ${file} (labels), 1 unreadable lines\n`);
    expect(r.stdout).toMatch(/ {2}severity: accuracy [\d.]+%, mean \|level error\| [\d.]+, recall by level 0: \d+%, 1: \d+%, 2: \d+%, 3: \d+%\n/);
    const stored = JSON.parse(readFileSync(join(out, 'training_result.json'), 'utf8')) as { costData: string; steps: number; data: { train: { used: number; noSeverity: number } }; test: { n: number; severity: { confusion: number[][]; accuracy: number } } };
    expect(stored).toMatchObject({ costData: 'severity', steps: 10, data: { train: { used: 80, noSeverity: 1 } } });
    expect(stored.test.n).toBe(40);
    // the confusion matrix counts every held-out response once, in the row of its labelled level
    const labelled = pku.slice(40).flatMap((p) => [p.response_0_severity_level, p.response_1_severity_level]);
    expect(stored.test.severity.confusion.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([0, 1, 2, 3].map((l) => labelled.filter((x) => x === l).length));
    const back = loadPretrained(out).model as ScoreModel;
    expect(back.ordinalLevels).toBe(4);
    expect(back.scoreType).toBe('cost');
  });

  it('PKU-SafeRLHF gives the levels of both responses; a level outside --severity-levels is refused', () => {
    const out = cli('train', 'cost', '--cost-data', 'severity', '--model', model, '--train', pkuFile, '--out', join(dir, 'sev-pku'), '--score-batch-size', '32');
    expect(out).toContain(`train: 120 labelled responses from ${pkuFile} (pku: 60 records, two responses each), 0 unreadable lines\n`);
    expect(cliError('train', 'cost', '--cost-data', 'severity', '--severity-levels', '3', '--model', model, '--train', pkuFile, '--out', join(dir, 'sev-3'))).toMatch(/outside the head's 3 levels 0\.\.2/);
  });
});

describe('train sft from PKU-SafeRLHF: the safe responses', () => {
  it('60 records give 37 examples (the more helpful safe response), the 23 with no safe response skipped and named', () => {
    const none = pku.map((r, i) => (!r.is_response_0_safe && !r.is_response_1_safe ? i + 1 : 0)).filter(Boolean);
    expect(none).toHaveLength(23);
    const listed = none.slice(0, 20).map((l) => `${pkuFile}:${l}`).join(', ');
    const out = cli('train', 'sft', '--model', model, '--train', pkuFile, '--out', join(dir, 'sft-pku'), '--sft-epochs', '1', '--sft-batch-size', '16');
    expect(out).toContain(`train: 37 examples from ${pkuFile} (pku: 60 records, 23 without a safe response skipped: ${listed}, …), 0 unreadable lines\n`);
    expect(out).toMatch(/train: \d+ of 37 examples truncated to 96 tokens \(response start kept\), 0 skipped/);
    expect(out).toContain('SFT: 3 steps');
    const stored = JSON.parse(readFileSync(join(dir, 'sft-pku', 'training_result.json'), 'utf8')) as { data: { train: unknown }; truncation: { train: { total: number } } };
    expect(stored.data.train).toEqual({ file: pkuFile, format: 'pku', lines: 60, unreadable: 0, used: 37, noSafeResponse: 23 });
    expect(stored.truncation.train.total).toBe(37);
  });

  it('picks the safe response, and the better one when both are safe', async () => {
    const data = await readSftData(pkuFile);
    expect(data).toMatchObject({ format: 'pku', stats: { records: 60, unreadable: 0 }, noSafeResponse: { count: 23 } });
    const kept = pku.map((r, i) => ({ r, line: i + 1 })).filter(({ r }) => r.is_response_0_safe || r.is_response_1_safe);
    const expected = kept.map(({ r, line }) => {
      const id = r.is_response_0_safe && r.is_response_1_safe ? r.better_response_id : r.is_response_0_safe ? 0 : 1;
      return { prompt: r.prompt, response: id ? r.response_1 : r.response_0, source: `${pkuFile}:${line}` };
    });
    expect(data.examples).toEqual(expected);
    // the sample has records of both kinds, so both rules are exercised
    expect(kept.some(({ r }) => r.is_response_0_safe && r.is_response_1_safe && r.better_response_id === 1)).toBe(true);
    expect(kept.some(({ r }) => r.is_response_0_safe !== r.is_response_1_safe)).toBe(true);
  });
});

describe("chat templates: the model folder's chat_template, or --raw", () => {
  it('train sft renders prompts with tokenizer_config.json\'s chat_template (here a preamble longer than the context: nothing fits), and --raw uses them unchanged', () => {
    const chat = join(dir, 'gpt2-chat');
    cpSync(model, chat, { recursive: true });
    const cfgPath = join(chat, 'tokenizer_config.json');
    const preamble = Array.from({ length: CONTEXT }, () => 'the').join(' ');
    writeFileSync(cfgPath, JSON.stringify({ ...(JSON.parse(readFileSync(cfgPath, 'utf8')) as object), chat_template: `${preamble} {% for m in messages %}{{ m.content }} {% endfor %}` }));
    expect(cliError('train', 'sft', '--model', chat, '--train', pkuFile, '--out', join(dir, 'sft-chat'))).toContain(`sft: none of the 37 training examples fits in ${CONTEXT} tokens`);
    const out = cli('train', 'sft', '--raw', '--model', chat, '--train', pkuFile, '--out', join(dir, 'sft-raw'), '--sft-epochs', '1', '--sft-batch-size', '16');
    expect(out).toContain('SFT: 3 steps');
    expect((JSON.parse(readFileSync(join(dir, 'sft-raw', 'safealign_config.json'), 'utf8')) as { raw: boolean }).raw).toBe(true);
  });
});

describe('the folders above chained: SFT from PKU safe responses, reward from pairs, cost from labels', () => {
  it('train ppo-lag on the PKU prompts with d calibrated on {prompt, response, is_safe} labels', () => {
    const labels = join(dir, 'labels-test.jsonl');
    const out = run(true, 'train', 'ppo-lag', '--actor', join(dir, 'sft-pku'), '--reward', join(dir, 'rm-pairs'), '--cost', join(dir, 'cm-labels'), '--prompts', pkuFile, '--threshold-from', labels, '--out', join(dir, 'lag'), '--rl-steps', '1', '--rl-prompts-per-step', '4', '--rl-mini-batch-size', '4', '--rl-max-new-tokens', '8');
    const calibration = JSON.parse(readFileSync(join(dir, 'cm-labels', 'training_result.json'), 'utf8')) as { test: { safeMean: number; unsafeMean: number } };
    const d = calibration.test.safeMean + 0.03 * (calibration.test.unsafeMean - calibration.test.safeMean);
    // the cost model scores the same 40 labelled responses here as in its own --test evaluation
    expect(out.stderr + out.stdout).toContain(`cost threshold d = ${d.toFixed(4)}, calibrated on ${labels} (40 responses: safe mean ${calibration.test.safeMean.toFixed(3)}`);
    const result = JSON.parse(readFileSync(join(dir, 'lag', 'result.json'), 'utf8')) as { steps: number; threshold: { value: number } };
    expect(result.steps).toBe(1);
    expect(result.threshold.value).toBeCloseTo(d, 6);
  });
});
