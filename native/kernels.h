// Elementwise kernels of our own, compiled apart (binding.gyp's sa_kernels target: -O3 with glibc's vector maths).
#pragma once
#include <cstdint>

namespace sa::kernels {

// GELU, tanh form: y[i] = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) for i < n, written as x / (1 + exp(−2u)) (the same
// function: 0.5(1 + tanh u) = σ(2u)). x and y may be the same array (in place). Within 6e-7 of ATen's gelu(x, "tanh").
void GeluTanh(const float* x, float* y, int64_t n);

}  // namespace sa::kernels
