// Data-parallel building blocks on libtorch's c10d: where a process sits in the job, and its process group.
export { DistributedSchema, distributedFromEnv, DistributedEnvError, type DistributedConfig, type DistributedOptions } from './config.js';
export { ProcessGroup, DistributedError, type ReduceOp } from './group.js';
export { LaunchSchema, type LaunchConfig } from './launch-config.js';
export { launch, rankEnv, freePort, type LaunchResult } from './launch.js';
export { DataParallel, dataParallel, shareRange, buckets, ONE_PROCESS } from './data-parallel.js';
