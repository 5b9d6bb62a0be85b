// Data-parallel training: 2 processes on half batches end where 1 process on the whole batch ends (SFT, reward model), and shares/buckets.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buckets, shareRange } from '../../src/distributed/index.js';
import { zeros } from '../../src/torch/index.js';
import { PKU_SAMPLE, saveTinyPkuModels } from '../helpers/tiny-cli-models.js';
import { compareWeights } from '../helpers/weights.js';

const dir = mkdtempSync(join(tmpdir(), 'ddp-'));
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };
const cli = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env });
const launch2 = (...args: string[]) => cli('launch', '--nproc', '2', '--master-port', '0', '--timeout-seconds', '120', '--', 'safealign', ...args);

/** Largest |a − b| over the weights of two folders with the same names, and the largest change of `a` from `start`. */
function compare(a: string, b: string, start: string): { diff: number; moved: number } {
  const { diff, moved, names } = compareWeights(a, b, start);
  expect(names, `${a} and ${b} hold the same weights`).toBe(true);
  return { diff, moved };
}

const stepLosses = (out: string) => (JSON.parse(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8')) as { log: { loss: number }[] }).log.map((r) => r.loss);

beforeAll(() => saveTinyPkuModels(dir));

/** SFT on the PKU sample at a constant learning rate (so a run of 1 epoch resumed for a 2nd is the run of 2 epochs). */
const sftArgs = (epochs: number) => ['train', 'sft', '--model', join(dir, 'sft'), '--train', PKU_SAMPLE, '--test', PKU_SAMPLE, '--sft-epochs', String(epochs), '--sft-batch-size', '17', '--sft-optim-warmup-ratio', '0', '--sft-optim-schedule', 'constant'];

describe('shares and buckets', () => {
  it('splits a batch into consecutive shares in rank order, the first ones longer, empty when ranks outnumber items', () => {
    expect([0, 1, 2].map((r) => shareRange(8, r, 3))).toEqual([[0, 3], [3, 6], [6, 8]]);
    expect([0, 1].map((r) => shareRange(1, r, 2))).toEqual([[0, 1], [1, 1]]);
    expect(shareRange(5, 0, 1)).toEqual([0, 5]);
  });
  it('groups tensors in order into buckets under the byte limit, a larger tensor alone, a new dtype starting a new bucket', () => {
    const t = [zeros([10]), zeros([10]), zeros([30]), zeros([5]), zeros([2], { dtype: 'float64' })];
    expect(buckets(t, 100).map((b) => b.map((x) => t.indexOf(x)))).toEqual([[0, 1], [2], [3], [4]]);
  });
});

describe('safealign launch --nproc 2 -- safealign train …', () => {
  it('SFT: 2 processes (half of each batch each, an empty share on the last batch of 1) end with the weights of 1 process', () => {
    // 35 SFT examples fit, batches of 17: every 3rd batch holds 1 example, so rank 1 has none
    const args = sftArgs(2);
    const one = cli(...args, '--out', join(dir, 'sft-1'));
    const two = launch2(...args, '--out', join(dir, 'sft-2'));
    expect(one).toMatch(/SFT: 6 steps/);
    expect(two.match(/SFT: 6 steps/g)).toHaveLength(1); // rank 0 alone reports
    const { diff, moved } = compare(join(dir, 'sft-1'), join(dir, 'sft-2'), join(dir, 'sft'));
    expect(moved).toBeGreaterThan(1e-3);
    expect(diff).toBeLessThan(1e-5);
    // the test split's loss, each rank on its share: the same mean
    const evalLoss = (out: string) => (JSON.parse(readFileSync(join(dir, out, 'training_result.json'), 'utf8')) as { finalEvalLoss: number }).finalEvalLoss;
    expect(evalLoss('sft-2')).toBeCloseTo(evalLoss('sft-1'), 5);
    expect(evalLoss('sft-1')).toBeGreaterThan(0);
    const [l1, l2] = [stepLosses(join(dir, 'sft-1')), stepLosses(join(dir, 'sft-2'))];
    expect(l2).toHaveLength(6);
    l2.forEach((l, i) => expect(l).toBeCloseTo(l1[i] as number, 5));
  });

  it('a checkpoint resumes under another number of processes: 2 then 1, and 1 then 2, end where 1 process ends straight through', () => {
    // 1 epoch then a second (resumed with --sft-epochs 2) is the run of 2 epochs straight (sft-1, of the test above)
    launch2(...sftArgs(1), '--out', join(dir, 'two-then-one'));
    expect(cli(...sftArgs(2), '--out', join(dir, 'two-then-one'))).toMatch(/SFT: 6 steps/);
    cli(...sftArgs(1), '--out', join(dir, 'one-then-two'));
    launch2(...sftArgs(2), '--out', join(dir, 'one-then-two'));
    for (const resumed of ['two-then-one', 'one-then-two']) {
      const { diff, moved } = compare(join(dir, 'sft-1'), join(dir, resumed), join(dir, 'sft'));
      expect(moved).toBeGreaterThan(1e-3);
      expect(diff, resumed).toBeLessThan(1e-5);
      expect(stepLosses(join(dir, resumed))).toHaveLength(6);
    }
  });

  it('reward model: 2 processes end with the weights of 1 process', () => {
    const args = ['train', 'reward', '--model', join(dir, 'sft'), '--train', PKU_SAMPLE, '--score-epochs', '1', '--score-batch-size', '12', '--score-optim-warmup-ratio', '0'];
    cli(...args, '--out', join(dir, 'reward-1'));
    launch2(...args, '--out', join(dir, 'reward-2'));
    const { diff, moved } = compare(join(dir, 'reward-1'), join(dir, 'reward-2'), join(dir, 'sft'));
    expect(moved).toBeGreaterThan(1e-3);
    expect(diff).toBeLessThan(1e-5);
  });

  it('DPO: 2 processes end with the weights of 1 process', () => {
    const args = ['train', 'dpo', '--model', join(dir, 'sft'), '--train', PKU_SAMPLE, '--dpo-epochs', '1', '--dpo-batch-size', '16', '--dpo-optim-lr', '0.001', '--dpo-optim-warmup-ratio', '0'];
    cli(...args, '--out', join(dir, 'dpo-1'));
    const two = launch2(...args, '--out', join(dir, 'dpo-2'));
    expect(two.match(/model in /g)).toHaveLength(1);
    const { diff, moved } = compare(join(dir, 'dpo-1'), join(dir, 'dpo-2'), join(dir, 'sft'));
    expect(moved).toBeGreaterThan(1e-3);
    expect(diff).toBeLessThan(1e-5);
  });
});
