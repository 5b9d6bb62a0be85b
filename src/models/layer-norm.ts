// LayerNorm with HF parameter names `weight` and `bias` (GPT-2's ln_*, the vision towers' layer_norm*).
import { layerNorm, ones, zeros, type Tensor } from '../torch/index.js';
import { Module } from './module.js';

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    readonly dim: number,
    readonly eps: number,
  ) {
    super();
    this.weight = this.param('weight', ones([dim]));
    this.bias = this.param('bias', zeros([dim]));
  }
  /** x: (..., dim) -> (..., dim) */
  forward(x: Tensor): Tensor {
    return layerNorm(x, [this.dim], this.weight, this.bias, this.eps);
  }
}
