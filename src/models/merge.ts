// Weight merging of models that share an architecture (and, to be meaningful, an initialisation): WARM's average, P-SACPO's linear merge.
import { noGrad, stack, tidy } from '../torch/index.js';
import type { Module } from './module.js';

/**
 * Overwrites the parameters of `target` with Σ_k w_k·θ_k over `sources` (uniform mean when `weights`
 * is absent). Every source must have each of target's parameters with the same shape.
 */
export function mergeParametersInto(target: Module, sources: readonly Module[], weights?: readonly number[], what = 'merge'): void {
  if (sources.length === 0) throw new RangeError(`${what}: needs at least one model`);
  if (weights && weights.length !== sources.length) throw new RangeError(`${what}: ${weights.length} weights for ${sources.length} models`);
  const named = sources.map((m) => m.namedParameters());
  noGrad(() => {
    for (const [name, p] of target.namedParameters()) {
      const tensors = named.map((n, i) => {
        const t = n.get(name);
        if (!t || t.shape.join() !== p.shape.join()) throw new Error(`${what}: model ${i} has no parameter '${name}' of shape [${p.shape}]`);
        return t;
      });
      tidy(() => {
        p.copy_(weights ? tensors.map((t, i) => t.mul(weights[i] as number)).reduce((a, b) => a.add(b)) : stack(tensors, 0).mean(0));
      });
    }
  });
}
