{
  "variables": {
    "libtorch%": "<!(node -p \"process.env.LIBTORCH || ''\")",
    "cxx11_abi%": "<!(node -p \"process.env.TORCH_CXX11_ABI || '1'\")",
    "gloo%": "<!(node features.cjs gloo)",
    "cuda%": "<!(node features.cjs cuda)",
    "nccl%": "<!(node features.cjs nccl)"
  },
  "targets": [
    {
      # Our elementwise kernels (native/kernels.cc), compiled with the flags that let GCC vectorise them with libmvec.
      "target_name": "sa_kernels",
      "type": "static_library",
      "sources": ["kernels.cc"],
      "cflags_cc": ["-std=c++17", "-O3", "-fPIC", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math"]
    },
    {
      "target_name": "safealign_torch",
      "dependencies": ["sa_kernels"],
      "sources": ["addon.cc", "tensor.cc", "ops.cc", "nn.cc", "optim.cc", "distributed.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8", "_GLIBCXX_USE_CXX11_ABI=<(cxx11_abi)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-frtti", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "conditions": [
        ["gloo==1", {"defines": ["USE_C10D_GLOO", "SA_GLOO"]}],
        ["target_arch=='x64'", {"libraries": ["-lmvec"]}],
        ["libtorch==''", {
          "include_dirs": ["/usr/include", "/usr/include/torch/csrc/api/include"],
          "libraries": ["-ltorch", "-ltorch_cpu", "-lc10"]
        }, {
          "include_dirs": ["<(libtorch)/include", "<(libtorch)/include/torch/csrc/api/include"],
          "libraries": ["-L<(libtorch)/lib", "-Wl,-rpath,<(libtorch)/lib", "-ltorch", "-ltorch_cpu", "-lc10"]
        }],
        # A CUDA libtorch: link its CUDA libraries even though no symbol of theirs is called here, so that their
        # kernels register when the addon loads (--as-needed would drop them and torch::cuda::is_available() says false).
        ["cuda==1", {
          "defines": ["SA_CUDA"],
          "libraries": ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"]
        }],
        # ProcessGroupNCCL (native/distributed.cc): a CUDA libtorch and the CUDA toolkit's and NCCL's headers (features.cjs).
        ["nccl==1", {
          "defines": ["USE_C10D_NCCL", "SA_NCCL"],
          "include_dirs": ["<!@(node features.cjs cuda-include)"]
        }]
      ]
    }
  ]
}
