// The decode step's vector loops: grouped-query attention over the blocked bf16 KV cache
// and SwiGLU, each built per ISA class; the rotary tables; and attention on its own for
// cpu.attention.
#include "kernels/cpu/transformer_parts.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/random.hpp"

namespace roofaudit::kernels {
namespace detail {
namespace {

// exp(x) for x <= 0 in plain arithmetic the compiler vectorises: 2^n by the exponent
// bits, exp(r) for |r| <= ln2/2 by its Taylor series to r^7 (error below 1e-8).
inline float exp_nonpositive(float x) {
  x = std::max(x, -87.0f);
  // Round to nearest by the 1.5 * 2^23 trick (vectorises where nearbyint would not).
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * std::bit_cast<float>(std::uint32_t(std::int32_t(n) + 127) << 23);
}

// x * sigmoid(x), through the same vectorisable exp (exp(-|x|) keeps it in range).
inline float silu(float g) {
  const float e = exp_nonpositive(-std::fabs(g));
  return g >= 0 ? g / (1.0f + e) : g * e / (1.0f + e);
}

// The vector loops of the step (SwiGLU, attention) are compiled once per ISA class, so
// ROOFAUDIT_MAX_ISA caps them as it caps the products. A step picks its build once
// (cpu_features() reads the environment), not per head. On AArch64 the baseline build is
// Advanced SIMD (NEON) already, and SVE builds the same loops at the CPU's vector length.
#if ROOFAUDIT_X86
#define ROOFAUDIT_PER_ISA(name, params, args)                                                          \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))) void name##_avx512 params { \
    name##_body args;                                                                                 \
  }                                                                                                   \
  __attribute__((target("avx2,fma"))) void name##_avx2 params { name##_body args; }                   \
  void name##_generic params { name##_body args; }
#else
#define ROOFAUDIT_PER_ISA(name, params, args)                                               \
  __attribute__((target("arch=armv8.2-a+sve"))) void name##_sve params { name##_body args; } \
  void name##_generic params { name##_body args; }
#endif

__attribute__((always_inline)) inline void swiglu_body(const float* gate_up, std::size_t F, float* out) {
#pragma omp simd
  for (std::size_t i = 0; i < F; ++i) out[i] = silu(gate_up[i]) * gate_up[F + i];
}
ROOFAUDIT_PER_ISA(swiglu, (const float* gate_up, std::size_t F, float* out), (gate_up, F, out))

// Scores of G query heads (G x H) against n keys: G x n, row stride n. Fixed G keeps the
// G accumulators of a key block in registers.
template <int G>
__attribute__((always_inline)) inline void score_keys(const float* q, const std::uint16_t* keys, std::size_t n,
                                                      std::size_t H, float scale, float* scores) {
  // Two key blocks per pass when G is small: 2G independent accumulator chains.
  constexpr std::size_t kBlocks = G <= 4 ? 2 : 1;
  for (std::size_t t0 = 0; t0 < n; t0 += kBlocks * kKeyBlock) {
    const std::size_t blocks = std::min(kBlocks, (n - t0 + kKeyBlock - 1) / kKeyBlock);
    float acc[G][kBlocks][kKeyBlock] = {};
    for (std::size_t i = 0; i < H; ++i) {
      float col[kBlocks][kKeyBlock] = {};
      for (std::size_t k = 0; k < blocks; ++k) {
        const std::uint16_t* c = keys + (t0 + k * kKeyBlock) * H + i * kKeyBlock;
#pragma omp simd
        for (std::size_t t = 0; t < kKeyBlock; ++t) col[k][t] = bf16_to_float(c[t]);
      }
      for (int g = 0; g < G; ++g) {
        const float qi = q[g * H + i];
        for (std::size_t k = 0; k < kBlocks; ++k)
#pragma omp simd
          for (std::size_t t = 0; t < kKeyBlock; ++t) acc[g][k][t] += qi * col[k][t];
      }
    }
    const std::size_t len = std::min(kBlocks * kKeyBlock, n - t0);
    for (int g = 0; g < G; ++g)
      for (std::size_t t = 0; t < len; ++t) scores[g * n + t0 + t] = acc[g][t / kKeyBlock][t % kKeyBlock] * scale;
  }
}

// out[g] = sum over t of p[g][t] * value[t] for G heads (p: G x n, row stride n; out:
// G x H). 16 x G output lanes at a time, 16 x 16 / G of them (at most 16 accumulator
// vectors, kept in registers across all positions); each value converted once.
template <int G>
__attribute__((always_inline)) inline void weigh_values(const float* p, const std::uint16_t* values, std::size_t n,
                                                        std::size_t H, float* out) {
  constexpr std::size_t kSpan = 16 * 16 / G;  // lanes per pass
  for (std::size_t i0 = 0; i0 < H; i0 += kSpan) {
    const std::size_t width = std::min(kSpan, H - i0);
    float acc[G][kSpan] = {};
    for (std::size_t t = 0; t < n; ++t) {
      float v[kSpan] = {};
      const std::uint16_t* vt = values + t * H + i0;
      if (width == kSpan) {
#pragma omp simd
        for (std::size_t i = 0; i < kSpan; ++i) v[i] = bf16_to_float(vt[i]);
      } else {
        for (std::size_t i = 0; i < width; ++i) v[i] = bf16_to_float(vt[i]);
      }
      for (int g = 0; g < G; ++g) {
        const float w = p[g * n + t];
#pragma omp simd
        for (std::size_t i = 0; i < kSpan; ++i) acc[g][i] += w * v[i];
      }
    }
    for (int g = 0; g < G; ++g)
      for (std::size_t i = 0; i < width; ++i) out[g * H + i0 + i] = acc[g][i];
  }
}

// Calls f(heads, first) over the query heads of a KV head in groups of 8, 4, 2 or 1 (a
// compile-time count), so each group's accumulators stay in registers.
template <typename F>
__attribute__((always_inline)) inline void by_head_groups(int group, F&& f) {
  for (int g0 = 0; g0 < group;) {
    const int left = group - g0;
    if (left >= 8) f(std::integral_constant<int, 8>{}, g0), g0 += 8;
    else if (left >= 4) f(std::integral_constant<int, 4>{}, g0), g0 += 4;
    else if (left >= 2) f(std::integral_constant<int, 2>{}, g0), g0 += 2;
    else f(std::integral_constant<int, 1>{}, g0), g0 += 1;
  }
}

// Grouped-query attention of one KV head: `group` query heads (group x head_dim) over
// n cached positions; scores is group x n scratch, out group x head_dim.
__attribute__((always_inline)) inline void attend_body(const float* q, const std::uint16_t* keys,
                                                       const std::uint16_t* values, std::size_t n, int group,
                                                       int head_dim, float scale, float* scores, float* out) {
  const std::size_t H = std::size_t(head_dim);
  by_head_groups(group, [&](auto heads, int g0) __attribute__((always_inline)) {
    score_keys<heads()>(q + std::size_t(g0) * H, keys, n, H, scale, scores + std::size_t(g0) * n);
  });
  for (int g = 0; g < group; ++g) {
    float* sg = scores + g * n;
    float m = sg[0];
    for (std::size_t t = 1; t < n; ++t) m = std::max(m, sg[t]);
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (std::size_t t = 0; t < n; ++t) {
      sg[t] = exp_nonpositive(sg[t] - m);
      sum += sg[t];
    }
    const float inv = 1.0f / sum;
    for (std::size_t t = 0; t < n; ++t) sg[t] *= inv;
  }
  by_head_groups(group, [&](auto heads, int g0) __attribute__((always_inline)) {
    weigh_values<heads()>(scores + std::size_t(g0) * n, values, n, H, out + std::size_t(g0) * H);
  });
}
ROOFAUDIT_PER_ISA(attend,
                  (const float* q, const std::uint16_t* keys, const std::uint16_t* values, std::size_t n, int group,
                   int head_dim, float scale, float* scores, float* out),
                  (q, keys, values, n, group, head_dim, scale, scores, out))
#undef ROOFAUDIT_PER_ISA

}  // namespace

#if ROOFAUDIT_X86
swiglu_fn swiglu_for(const CpuFeatures& cpu) {
  return cpu.avx512 ? swiglu_avx512 : cpu.avx2 ? swiglu_avx2 : swiglu_generic;
}
attend_fn attend_for(const CpuFeatures& cpu) {
  return cpu.avx512 ? attend_avx512 : cpu.avx2 ? attend_avx2 : attend_generic;
}
#else
swiglu_fn swiglu_for(const CpuFeatures& cpu) { return cpu.sve ? swiglu_sve : swiglu_generic; }
attend_fn attend_for(const CpuFeatures& cpu) { return cpu.sve ? attend_sve : attend_generic; }
#endif

// Rotary embedding of one head at position pos: pairs (i, i + H/2).
void rope(float* v, int head_dim, std::size_t pos, double theta) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    const double angle = double(pos) * std::pow(theta, -2.0 * i / head_dim);
    const float c = float(std::cos(angle)), s = float(std::sin(angle));
    const float a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = a * s + b * c;
  }
}


// cos and sin of every rotary frequency at one position: 2 x head_dim/2.
std::vector<float> rope_table(int head_dim, std::size_t pos, double theta) {
  const int half = head_dim / 2;
  std::vector<float> t(2 * half);
  for (int i = 0; i < half; ++i) {
    const double angle = double(pos) * std::pow(theta, -2.0 * i / head_dim);
    t[i] = float(std::cos(angle));
    t[half + i] = float(std::sin(angle));
  }
  return t;
}

void rope_with(float* v, int head_dim, const std::vector<float>& table) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    const float c = table[i], s = table[half + i];
    const float a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = a * s + b * c;
  }
}

}  // namespace detail

using namespace detail;

std::size_t attention_key_offset(std::size_t t, std::size_t i, std::size_t head_dim) { return key_index(t, i, head_dim); }
std::size_t attention_key_span(std::size_t context) { return key_span(context); }

void attend_bf16(const float* q, const std::uint16_t* keys, const std::uint16_t* values, std::size_t n, int group,
                 int head_dim, float* scores, float* out) {
  attend_for(cpu_features())(q, keys, values, n, group, head_dim, float(1.0 / std::sqrt(double(head_dim))), scores,
                            out);
}

void attend_reference(const float* q, const std::uint16_t* keys, const std::uint16_t* values, std::size_t n, int group,
                      int head_dim, float* out) {
  const std::size_t H = std::size_t(head_dim);
  for (int g = 0; g < group; ++g)
    reference_head(
        q + g * H, n, H, [&](std::size_t t, std::size_t i) { return bf16_to_float(keys[key_index(t, i, H)]); },
        [&](std::size_t t, std::size_t i) { return bf16_to_float(values[t * H + i]); }, out + g * H);
}

}  // namespace roofaudit::kernels
