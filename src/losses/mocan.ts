// MoCAN's dual (Huang et al. 2024): the convex dual of max E[r] − β·KL s.t. E[c] ≤ d, estimated from samples of the reference policy, its gradient, and its minimiser λ*.
import { tensor, tidy, type Tensor } from '../torch/index.js';

export interface MocanDualSettings {
  /** β: the KL strength of the alignment that follows (the same β as its DPO loss). */
  beta: number;
  /** d: the cost budget, E[c] ≤ d (Safe RLHF's threshold, in the cost model's units). */
  threshold: number;
}

/** (r − λ·c)/β, (P, K). */
function tiltedLogits(rewards: Tensor, costs: Tensor, lambda: Tensor | number, beta: number): Tensor {
  return rewards.sub(costs.mul(lambda)).div(beta);
}

/**
 * D(λ) = mean_p β·(logsumexp_k((r_pk − λ·c_pk)/β) − log K) + λ·d: the sample estimate of
 * E_x[β·log E_{y∼π_ref} exp((r − λ·c)/β)] + λ·d, convex in λ ≥ 0.
 * rewards, costs: (P, K), K responses of the reference policy to each of P prompts; lambda: a number or a 0-d tensor. Returns a 0-d tensor.
 */
export function mocanDual(rewards: Tensor, costs: Tensor, lambda: Tensor | number, settings: MocanDualSettings): Tensor {
  const k = rewards.shape[1] as number;
  const lse = tiltedLogits(rewards, costs, lambda, settings.beta).logsumexp(1).sub(Math.log(k)).mul(settings.beta).mean();
  return typeof lambda === 'number' ? lse.add(lambda * settings.threshold) : lse.add(lambda.mul(settings.threshold));
}

/**
 * E_{π_λ}[c] = mean_p Σ_k w_pk·c_pk with w_p = softmax_k((r_pk − λ·c_pk)/β): the expected cost of the
 * policy π_λ ∝ π_ref·exp((r − λ·c)/β) that the alignment on r − λ·c converges to. rewards, costs: (P, K).
 */
export function tiltedCost(rewards: Tensor, costs: Tensor, lambda: number, beta: number): number {
  return tidy(() => tiltedLogits(rewards, costs, lambda, beta).softmax(1).mul(costs).sum(1).mean().item());
}

/** dD/dλ = d − E_{π_λ}[c]: negative while π_λ breaks the budget, increasing in λ (D is convex). */
export function mocanDualGradient(rewards: Tensor, costs: Tensor, lambda: number, settings: MocanDualSettings): number {
  return settings.threshold - tiltedCost(rewards, costs, lambda, settings.beta);
}

export interface MocanDualSolution {
  /** λ* = argmin_{λ ≥ 0} D(λ). */
  lambda: number;
  dual: number;
  /** dD/dλ at λ* (0 when the constraint is active and met, ≥ 0 when λ* = 0). */
  gradient: number;
  /** E_{π_λ*}[c]: the predicted cost of the aligned policy. */
  tiltedCost: number;
  /** E_{π_ref}-tilted cost at λ = 0 (the unconstrained optimum's cost). */
  costAtZero: number;
  /** True when even λ = lambdaMax leaves E_{π_λ}[c] > d: no sampled response mix meets the budget; λ* is lambdaMax. */
  infeasible: boolean;
  iterations: number;
}

/**
 * Minimises D over λ ∈ [0, lambdaMax] by bisection on its gradient (monotone since D is convex):
 * λ* = 0 when π_0 already meets the budget, else the root of d − E_{π_λ}[c], bracketed by doubling.
 * Works in float64. rewards, costs: (P, K).
 */
export function solveMocanDual(rewards: Tensor, costs: Tensor, settings: MocanDualSettings & { lambdaMax?: number; tolerance?: number }): MocanDualSolution {
  return tidy(() => solve(rewards.to('float64'), costs.to('float64'), settings));
}

function solve(r: Tensor, c: Tensor, settings: MocanDualSettings & { lambdaMax?: number; tolerance?: number }): MocanDualSolution {
  const lambdaMax = settings.lambdaMax ?? 1e4;
  const tolerance = settings.tolerance ?? 1e-10;
  const grad = (lambda: number) => mocanDualGradient(r, c, lambda, settings);
  const finish = (lambda: number, iterations: number, infeasible: boolean): MocanDualSolution => {
    const dual = tidy(() => mocanDual(r, c, lambda, settings).item());
    const cost = tiltedCost(r, c, lambda, settings.beta);
    return { lambda, dual, gradient: settings.threshold - cost, tiltedCost: cost, costAtZero, infeasible, iterations };
  };
  const costAtZero = tiltedCost(r, c, 0, settings.beta);
  if (settings.threshold - costAtZero >= 0) return finish(0, 0, false);
  let lo = 0;
  let hi = Math.min(1, lambdaMax);
  let iterations = 0;
  while (grad(hi) < 0) {
    if (hi >= lambdaMax) return finish(lambdaMax, iterations, true);
    lo = hi;
    hi = Math.min(hi * 2, lambdaMax);
    iterations++;
  }
  while (hi - lo > tolerance * Math.max(1, hi) && iterations < 200) {
    const mid = (lo + hi) / 2;
    if (grad(mid) < 0) lo = mid;
    else hi = mid;
    iterations++;
  }
  return finish((lo + hi) / 2, iterations, false);
}

/** The (P, K) score matrix of P prompts with K scored responses each, from prompt-major flat scores. */
export function scoreMatrix(scores: readonly number[], samplesPerPrompt: number): Tensor {
  return tensor(scores, { shape: [scores.length / samplesPerPrompt, samplesPerPrompt], dtype: 'float64' });
}
