// PPO and critic losses under both loss aggregations against reference/golden/losses_rl.json (PyTorch), values and gradients.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { criticLoss, ppoPolicyLoss, type LossAggregation } from '../../src/losses/index.js';
import { tensor } from '../../src/torch/index.js';
import { expectAllClose, type Nested } from '../helpers/allclose.js';

const g = JSON.parse(readFileSync('reference/golden/losses_rl.json', 'utf8')) as Record<string, Record<string, Nested>>;
// float32 against float64 goldens.
const TOL = { atol: 1e-5, rtol: 1e-5 };
type Case = { loss: number; grads: Nested[] };
const golden = (c: Record<string, Nested>, how: LossAggregation): Case =>
  how === 'token' ? { loss: c.loss as number, grads: c.grads as Nested[] } : (c.perSequence as unknown as Case);

describe.each(['token', 'per-sequence'] as const)("loss aggregation '%s'", (how) => {
  it('PPO clipped loss: value and gradient match PyTorch', () => {
    const c = g.ppo as Record<string, Nested>;
    const want = golden(c, how);
    const logp = tensor(c.logProbs as number[][], { requiresGrad: true });
    const out = ppoPolicyLoss(logp, tensor(c.oldLogProbs as number[][]), tensor(c.advantages as number[][]), tensor(c.mask as number[][]), c.clip as number, how);
    expectAllClose(out.loss.item(), want.loss, TOL);
    out.loss.backward();
    expectAllClose(logp.grad as NonNullable<typeof logp.grad>, want.grads[0] as Nested, TOL);
  });
  it('critic loss: value and gradient match PyTorch', () => {
    const c = g.critic as Record<string, Nested>;
    const want = golden(c, how);
    const v = tensor(c.values as number[][], { requiresGrad: true });
    const out = criticLoss(v, tensor(c.oldValues as number[][]), tensor(c.returns as number[][]), tensor(c.mask as number[][]), c.clip as number, how);
    expectAllClose(out.loss.item(), want.loss, TOL);
    out.loss.backward();
    expectAllClose(v.grad as NonNullable<typeof v.grad>, want.grads[0] as Nested, TOL);
  });
});

describe('the two aggregations', () => {
  it('differ when response lengths differ (the golden mask has lengths 6, 4, 1, 3)', () => {
    const c = g.ppo as Record<string, Nested>;
    expect(Math.abs((c.loss as number) - (golden(c, 'per-sequence').loss))).toBeGreaterThan(1e-3);
  });
});
