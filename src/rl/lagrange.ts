// The Lagrange multiplier of PPO-Lagrangian: log λ learned by SGD over a window of episode costs.

/**
 * How log λ is stepped (both are plain SGD on log λ, on different losses):
 * - 'multiplicative': loss -(J_c - d)·log λ, so log λ += lr·(J_c - d) and λ changes by the factor
 *   e^{lr·(J_c - d)} per step whatever its size (an exponentiated-gradient step on the dual).
 * - 'safe-rlhf': loss -(J_c - d)·λ as in PKU safe-rlhf, so log λ += lr·(J_c - d)·λ: the step grows
 *   with λ itself, which turns a long violation into a jump to a huge λ and the first satisfied
 *   window into a collapse to ~0, where λ no longer moves (its gradient is proportional to λ).
 */
export type LagrangeRule = 'multiplicative' | 'safe-rlhf';

export interface LagrangeConfig {
  /** Cost threshold d: the constraint is J_c <= d. */
  threshold: number;
  /** Initial λ (> 0). */
  init: number;
  /** SGD learning rate on log λ. */
  lr: number;
  /** Episodes in the moving window that defines J_c. */
  window: number;
  /** Upper bound on λ, or null for none. */
  max: number | null;
  /** Updates skipped at the start of training (λ stays at init). */
  delaySteps: number;
  /** The SGD loss on log λ; see `LagrangeRule`. */
  rule: LagrangeRule;
  /** One λ per prompt category (`CategoryLagrange`, used by the Lagrangian methods) instead of one global λ. */
  perCategory?: boolean;
  /**
   * k of a pessimistic J_c = mean(window) + k·std(window) (std unbiased; 0 while the window has one cost):
   * HC-RLHF's inflated bound (`hcInflation`). Omitted or 0 = the plain mean (Safe RLHF).
   */
  inflation?: number;
}

/** |log λ| never exceeds this (λ in [e^-30, e^30]): a numerical guard, not a modelling choice. */
export const LOG_LAMBDA_BOUND = 30;

export const DEFAULT_LAGRANGE: LagrangeConfig = { threshold: 0, init: 1, lr: 0.1, window: 128, max: null, delaySteps: 0, rule: 'multiplicative' };

export interface LagrangeState {
  logLambda: number;
  window: number[];
  steps: number;
}

/** J_c of a window of episode costs: their mean, plus k times their (unbiased) standard deviation when k > 0. */
function windowCost(window: readonly number[], k: number): number {
  const n = Math.max(1, window.length);
  const mean = window.reduce((a, b) => a + b, 0) / n;
  if (k === 0 || window.length < 2) return mean;
  const variance = window.reduce((a, b) => a + (b - mean) ** 2, 0) / (window.length - 1);
  return mean + k * Math.sqrt(variance);
}

/**
 * λ = exp(log λ). Each update appends the new episode costs to the window, sets
 * J_c = mean(window) (+ k·std(window) with `inflation` k) and takes one SGD step on log λ (the loss depends on `rule`): λ grows
 * while the constraint is violated (J_c > d) and shrinks once it holds.
 */
export class LagrangeMultiplier {
  private state: LagrangeState;

  constructor(readonly config: LagrangeConfig = DEFAULT_LAGRANGE) {
    if (!(config.init > 0)) throw new RangeError(`Lagrange init must be > 0, got ${config.init}`);
    this.state = { logLambda: Math.log(config.init), window: [], steps: 0 };
  }

  get lambda(): number {
    return Math.exp(this.state.logLambda);
  }

  /** Records a batch of episode costs and updates λ; returns the new λ and the J_c it used. */
  update(episodeCosts: readonly number[]): { lambda: number; jc: number; lambdaLoss: number } {
    const s = this.state;
    s.window = [...s.window, ...episodeCosts].slice(-this.config.window);
    const jc = windowCost(s.window, this.config.inflation ?? 0);
    const lambda = this.lambda;
    const violation = jc - this.config.threshold;
    const safeRlhf = this.config.rule === 'safe-rlhf';
    const lambdaLoss = safeRlhf ? -violation * lambda : -violation * s.logLambda;
    s.steps++;
    if (s.steps > this.config.delaySteps) {
      // d loss / d log λ: -(J_c - d)·λ for 'safe-rlhf', -(J_c - d) for 'multiplicative'.
      s.logLambda -= this.config.lr * (safeRlhf ? -violation * lambda : -violation);
      if (this.config.max !== null) s.logLambda = Math.min(s.logLambda, Math.log(this.config.max));
      // Under 'safe-rlhf' the step grows with λ itself; keep log λ finite so λ never becomes ∞ or NaN.
      s.logLambda = Math.max(-LOG_LAMBDA_BOUND, Math.min(LOG_LAMBDA_BOUND, s.logLambda));
    }
    return { lambda: this.lambda, jc, lambdaLoss };
  }

  stateDict(): LagrangeState {
    return { ...this.state, window: [...this.state.window] };
  }

  loadStateDict(state: LagrangeState): void {
    this.state = { ...state, window: [...state.window] };
  }
}
