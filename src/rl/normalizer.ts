// Running score normalisers (PPO-max tricks): affine for rewards, scale-only for costs, each switchable.

export type NormalizeKind = 'affine' | 'scale' | 'none';

export interface NormalizerState {
  count: number;
  mean: number;
  m2: number;
}

/**
 * Tracks mean and variance of every score seen (Welford/Chan merge) and normalises:
 * `affine`: (x - mean)/std; `scale`: x/std (never shifts, so a cost's sign survives); `none`: x.
 * Optional clipping to ±clip after normalising.
 */
export class RunningNormalizer {
  private s: NormalizerState = { count: 0, mean: 0, m2: 0 };

  constructor(
    readonly kind: NormalizeKind,
    readonly clip: number | null = null,
    readonly eps = 1e-8,
  ) {}

  update(values: readonly number[]): void {
    if (values.length === 0) return;
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const m2 = values.reduce((a, b) => a + (b - mean) ** 2, 0);
    const total = this.s.count + n;
    const delta = mean - this.s.mean;
    this.s = {
      count: total,
      mean: this.s.mean + (delta * n) / total,
      m2: this.s.m2 + m2 + (delta * delta * this.s.count * n) / total,
    };
  }

  get mean(): number {
    return this.s.mean;
  }

  get std(): number {
    return this.s.count > 1 ? Math.sqrt(this.s.m2 / this.s.count) : 1;
  }

  normalize(x: number): number {
    let y = x;
    if (this.kind === 'affine') y = (x - this.mean) / (this.std + this.eps);
    else if (this.kind === 'scale') y = x / (this.std + this.eps);
    if (this.clip !== null) y = Math.max(-this.clip, Math.min(this.clip, y));
    return y;
  }

  stateDict(): NormalizerState {
    return { ...this.s };
  }

  loadStateDict(state: NormalizerState): void {
    this.s = { ...state };
  }
}
