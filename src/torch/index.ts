// The tensor engine: libtorch through a N-API addon. Contract: docs/torch-api.md.
export { Tensor, TorchError, type DType, type Device, type Shape } from './tensor.js';
export {
  tensor,
  fromBuffer,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  arange,
  rand,
  randn,
  randint,
  manualSeed,
  setNumThreads,
  getNumThreads,
  memoryStats,
  type CreateOptions,
} from './create.js';
export { cat, stack, where, noGrad, isGradEnabled, linear, layerNorm, attention, keepRows_, embedding, dropout, crossEntropy } from './functional.js';
export { tidy, keep, chain } from './scope.js';
export { AdamW, SGD, clipGradNorm, lrSchedule, type OptimizerState } from './optim.js';
export { EngineLoadError } from './native.js';
export { DeviceError, resolveDevice, cudaAvailable, cudaDeviceCount, setDefaultDevice, defaultDevice } from './device.js';
