// Elementwise kernels of our own, compiled apart (binding.gyp's sa_kernels target: -O3 with glibc's vector maths).
#pragma once
#include <cstdint>

namespace sa::kernels {

// GELU, tanh form: y[i] = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) for i < n, written as x / (1 + exp(−2u)) (the same
// function: 0.5(1 + tanh u) = σ(2u)). x and y may be the same array (in place). Within 6e-7 of ATen's gelu(x, "tanh").
void GeluTanh(const float* x, float* y, int64_t n);

// The scalars of one AdamW step (PyTorch's AdamW, decoupled weight decay), as float32.
struct AdamWStep {
  float decay;           // 1 − lr·weight_decay
  float beta1, beta2;    // moment decays
  float oneMinusBeta1;   // 1 − β1
  float oneMinusBeta2;   // 1 − β2
  float sqrtBias2;       // √(1 − β2^t)
  float eps;
  float stepSize;        // lr / (1 − β1^t)
};

// One AdamW step on n elements in one pass: p ← p·decay; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
// p ← p − stepSize · m / (√v / sqrtBias2 + eps). The update libtorch's AdamW makes in eight passes over memory.
void AdamW(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s);

}  // namespace sa::kernels
