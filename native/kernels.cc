// Elementwise kernels of our own (kernels.h). This file is compiled apart with -O3 -fopenmp-simd -fno-math-errno
// -fno-trapping-math (no -ffast-math: IEEE arithmetic, no reassociation), so that GCC vectorises the loops and calls
// glibc's vector exp (libmvec, ≤ 4 ulp) for the widest instruction set the CPU has (target_clones picks it at load).
#include "kernels.h"
#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// libmvec's vector variants of expf (glibc declares them only under -ffast-math).
extern "C" __attribute__((__simd__("notinbranch"))) float expf(float) noexcept;
#define SA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SA_CLONES
#endif

namespace sa::kernels {

// Kernels work in blocks of 16 elements (a multiple of every vector width), the last block padded: each element goes
// through the same vector code wherever it sits in the array, so a value's result does not depend on its position, on
// the array's length or on how the array is shared out between threads (a scalar remainder loop would compute the last
// elements with the scalar expf, whose rounding differs).
constexpr int64_t kBlock = 16;

template <typename F>
__attribute__((always_inline)) inline void Blocks(const float* x, float* y, int64_t n, F block) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) block(x + i, y + i);
  if (i < n) {
    float bx[kBlock] = {0}, by[kBlock];
    for (int64_t j = 0; i + j < n; j++) bx[j] = x[i + j];
    block(bx, by);
    for (int64_t j = 0; i + j < n; j++) y[i + j] = by[j];
  }
}

SA_CLONES void GeluTanh(const float* x, float* y, int64_t n) {
  Blocks(x, y, n, [](const float* bx, float* by) __attribute__((always_inline)) {
    const float k0 = -2.0f * 0.7978845608028654f;  // −2·√(2/π)
    const float k1 = 0.044715f;
#pragma omp simd
    for (int64_t i = 0; i < kBlock; i++) {
      const float v = bx[i];
      const float z = k0 * (v + k1 * v * v * v);
      // beyond z = 88 (x < −9.3) exp(z) overflows and y is 0 in float32 (ATen's −0); NaN stays NaN
      const float e = expf(z < 88.0f ? z : 0.0f);
      by[i] = z < 88.0f ? v / (1.0f + e) : v * 0.0f;
    }
  });
}

SA_CLONES void AdamW(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s) {
  const AdamWStep c = s;
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * c.beta1 + gi * c.oneMinusBeta1;
    const float vi = v[i] * c.beta2 + gi * gi * c.oneMinusBeta2;
    const float denom = std::sqrt(vi) / c.sqrtBias2 + c.eps;
    p[i] = p[i] * c.decay - c.stepSize * (mi / denom);
    m[i] = mi;
    v[i] = vi;
  }
}

}  // namespace sa::kernels
