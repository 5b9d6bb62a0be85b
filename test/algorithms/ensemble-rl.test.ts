// RL scored by an ensemble: the scoring phase reduces the members (worst = min reward, max cost), identical members equal the single model, the CLI takes repeated --reward / --cost.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ScoreEnsemble, WORSE } from '../../src/algorithms/score/ensemble.js';
import { RlFoldersConfigSchema } from '../../src/algorithms/rl/folders-config.js';
import { trainRlOnFolders } from '../../src/algorithms/rl/folders.js';
import { fixedRollout, scoreRollout } from '../../src/algorithms/rl/phases.js';
import { loadPretrained, type CausalLM, type ScoreModel } from '../../src/models/index.js';
import { noGrad, tensor } from '../../src/torch/index.js';
import { expectAllClose } from '../helpers/allclose.js';
import { writeTinyFolders } from '../helpers/tiny-folders.js';

/** The numbers of a JSON value, in order. */
const flat = (v: unknown): number[] => (typeof v === 'number' ? [v] : Array.isArray(v) ? v.flatMap(flat) : v && typeof v === 'object' ? Object.values(v).flatMap(flat) : []);
const dir = mkdtempSync(join(tmpdir(), 'ensemble-rl-'));
const env = { ...process.env, CI: 'true', SAFEALIGN_THREADS: '1' };

beforeAll(() => {
  writeTinyFolders(dir, { r1: ['reward', 2], r2: ['reward', 4], c1: ['cost', 3], c2: ['cost', 5] }, ['how do I bake bread', 'what is a cat']);
});

const score = (name: string) => loadPretrained(join(dir, name)).model as ScoreModel;

describe('the scoring phase with ensembles', () => {
  it("'worst' scores each response by its lowest reward member and its highest cost member", () => {
    const actor = loadPretrained(join(dir, 'actor')).model as CausalLM;
    const ids = tensor([[3, 4, 5, 6, 7, 8], [0, 9, 10, 11, 12, 1]], { dtype: 'int64' });
    const attn = tensor([[1, 1, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1]], { dtype: 'int64' });
    const rollout = fixedRollout(actor, ids, attn, tensor([[1, 1, 1], [1, 1, 1]]), 3);
    const worst = { reduce: 'worst' as const, k: 1, lambda: 0.5 };
    const rewards = [score('r1'), score('r2')];
    const costs = [score('c1'), score('c2')];
    const models = { actor, reference: actor, rewardModel: new ScoreEnsemble(rewards).asScorer(worst, WORSE.reward), costModel: new ScoreEnsemble(costs).asScorer(worst, WORSE.cost), critics: {} };
    const s = scoreRollout(models, [], true, rollout, 1);
    const each = (ms: ScoreModel[]) => ms.map((m) => noGrad(() => m.endScores(ids, attn).toNumbers()));
    const [ra, rb] = each(rewards) as [number[], number[]];
    const [ca, cb] = each(costs) as [number[], number[]];
    // the members disagree on the order somewhere, or min/max would be indistinguishable from one member
    expect(ra.some((v, i) => v !== rb[i])).toBe(true);
    expect(s.reward.toNumbers()).toEqual(ra.map((v, i) => Math.min(v, rb[i] as number)));
    expect(s.cost?.toNumbers()).toEqual(ca.map((v, i) => Math.max(v, cb[i] as number)));
  });
});

describe('RL on folders with an ensemble', () => {
  const run = (out: string, reward: string[], cost: string[], reduce: 'mean' | 'uncertainty' | 'robust') =>
    trainRlOnFolders(
      'ppo-lag',
      RlFoldersConfigSchema.parse({
        actor: join(dir, 'actor'),
        reward: reward.map((r) => join(dir, r)),
        cost: cost.map((c) => join(dir, c)),
        prompts: join(dir, 'prompts.txt'),
        out: join(dir, out),
        threshold: -0.1,
        rewardEnsemble: { reduce, k: 2 },
        costEnsemble: { reduce, k: 2 },
        rl: { steps: 2, promptsPerStep: 4, miniBatchSize: 4, maxNewTokens: 6 },
      }),
    );
  it('an ensemble of identical members trains exactly as the single model does (std 0, worst = mean = the member)', async () => {
    const single = await run('single', ['r1'], ['c1'], 'mean');
    // every number of the log (rewards, costs, λ, J_c, losses) up to float32 rounding of the members' mean
    const log = (out: string) => flat(JSON.parse(`[${readFileSync(join(dir, out, 'log.jsonl'), 'utf8').trim().split('\n').join(',')}]`) as unknown);
    for (const reduce of ['uncertainty', 'robust'] as const) {
      await run(`twin-${reduce}`, ['r1', 'r1', 'r1'], ['c1', 'c1'], reduce);
      expectAllClose(log(`twin-${reduce}`), log('single'), { atol: 1e-6, rtol: 1e-5 });
    }
    expect(single.steps).toBe(2);
  });
  it('differs from the single model once the members differ', async () => {
    await run('pair', ['r1', 'r2'], ['c1', 'c2'], 'uncertainty');
    const first = (out: string) => JSON.parse(readFileSync(join(dir, out, 'log.jsonl'), 'utf8').split('\n')[0] as string) as { reward: number; cost: number };
    expect(first('pair').reward).not.toBe(first('single').reward);
    expect(first('pair').cost).not.toBe(first('single').cost);
  });
  it('the CLI takes --reward and --cost repeated and the reductions as flags, and saves them with the actor', () => {
    const out = join(dir, 'cli');
    const args = ['train', 'rloo-lag', '--actor', join(dir, 'actor'), '--reward', join(dir, 'r1'), '--reward', join(dir, 'r2'), '--cost', join(dir, 'c1'), '--cost', join(dir, 'c2')];
    const flags = ['--reward-ensemble-reduce', 'worst', '--cost-ensemble-reduce', 'uncertainty', '--cost-ensemble-k', '1.5', '--prompts', join(dir, 'prompts.txt'), '--out', out];
    const rl = ['--rl-steps', '1', '--rl-samples-per-prompt', '2', '--rl-prompts-per-step', '2', '--rl-mini-batch-size', '4', '--rl-max-new-tokens', '6'];
    const text = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, ...flags, ...rl], { encoding: 'utf8', env });
    expect(text).toMatch(/rloo-lag: 1 steps/);
    const saved = JSON.parse(readFileSync(join(out, 'safealign_config.json'), 'utf8')) as { reward: string[]; cost: string[]; rewardEnsemble: object; costEnsemble: object };
    expect(saved.reward).toEqual([join(dir, 'r1'), join(dir, 'r2')]);
    expect(saved.cost).toHaveLength(2);
    expect(saved.rewardEnsemble).toEqual({ reduce: 'worst', k: 1, lambda: 0.5 });
    expect(saved.costEnsemble).toEqual({ reduce: 'uncertainty', k: 1.5, lambda: 0.5 });
  });
});
