// What the libtorch being built against offers, for binding.gyp: `node features.cjs gloo|cuda|nccl|cuda-include`.
// gloo: Gloo's headers are there (ProcessGroupGloo). cuda: a CUDA build of libtorch (lib/libtorch_cuda.so, as in the
// official CUDA downloads). nccl: a CUDA build plus the CUDA toolkit's and NCCL's headers, which ProcessGroupNCCL.hpp
// includes (official libtorch ships neither: CUDA_HOME, default /usr/local/cuda, and NCCL_HOME point at them).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const libtorch = process.env.LIBTORCH || '';
const include = libtorch ? join(libtorch, 'include') : '/usr/include';
const libDirs = libtorch ? [join(libtorch, 'lib')] : ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib'];
const cudaHome = process.env.CUDA_HOME || process.env.CUDA_PATH || '/usr/local/cuda';
const ncclDirs = [process.env.NCCL_HOME && join(process.env.NCCL_HOME, 'include'), join(cudaHome, 'include'), include, '/usr/include'].filter(Boolean);

const gloo = existsSync(join(include, 'gloo', 'context.h'));
const cuda = libDirs.some((d) => existsSync(join(d, 'libtorch_cuda.so')));
const cudaHeaders = existsSync(join(cudaHome, 'include', 'cuda_runtime_api.h'));
const ncclInclude = ncclDirs.find((d) => existsSync(join(d, 'nccl.h')));
const nccl = cuda && cudaHeaders && ncclInclude !== undefined;

const answers = {
  gloo: gloo ? 1 : 0,
  cuda: cuda ? 1 : 0,
  nccl: nccl ? 1 : 0,
  // include directories ProcessGroupNCCL.hpp needs (space-separated; empty without NCCL)
  'cuda-include': nccl ? [...new Set([join(cudaHome, 'include'), ncclInclude])].join(' ') : '',
};
const what = process.argv[2];
if (!(what in answers)) {
  console.error(`features.cjs: unknown feature '${what}' (expected ${Object.keys(answers).join(', ')})`);
  process.exit(1);
}
console.log(answers[what]);
