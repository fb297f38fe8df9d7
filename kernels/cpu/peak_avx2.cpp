// Peak kernels with 256-bit vectors: FMA (fp64, fp32), AVX-VNNI int8 dots, and for AVX2
// without VNNI the int8 and bf16 sequences the widening kernels run (lowp_wide.hpp).
#include <immintrin.h>

#include "kernels/cpu/peak.hpp"
#include "kernels/cpu/peak_impl.hpp"

namespace roofaudit::kernels::avx2_peak {
using peak_detail::opaque;
using peak_detail::start_sum;
using peak_detail::sum_lanes;

// Twelve chains and two constants fit the 16 ymm registers.
constexpr int kChains = 12;

double fp64_fma(std::size_t iterations) {
  __m256d acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_add_pd(_mm256_set1_pd(c), _mm256_set_pd(3, 2, 1, 0));
  __m256d one = _mm256_set1_pd(1.0), inc = _mm256_set1_pd(1.0);
  opaque(one);
  for (std::size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_pd(acc[c], one, inc);
  }
  return sum_lanes<double>(acc, kChains);
}
double fp64_expected(std::size_t iterations) { return start_sum(kChains, 4) + double(kChains) * 4 * double(iterations); }

double fp32_fma(std::size_t iterations) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_add_ps(_mm256_set1_ps(float(c)), _mm256_set_ps(7, 6, 5, 4, 3, 2, 1, 0));
  __m256 one = _mm256_set1_ps(1.0f), inc = _mm256_set1_ps(1.0f);
  opaque(one);
  for (std::size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], one, inc);
  }
  return sum_lanes<float>(acc, kChains);
}
double fp32_expected(std::size_t iterations) { return start_sum(kChains, 8) + double(kChains) * 8 * double(iterations); }

__attribute__((target("avxvnni"))) double int8_dot(std::size_t iterations) {
  __m256i acc[kChains];
  for (int c = 0; c < kChains; ++c)
    acc[c] = _mm256_add_epi32(_mm256_set1_epi32(c), _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
  __m256i a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(1);
  opaque(a);
  opaque(b);
  for (std::size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_dpbusd_avx_epi32(acc[c], a, b);
  }
  return sum_lanes<std::int32_t>(acc, kChains);
}
double int8_expected(std::size_t iterations) { return start_sum(kChains, 8) + double(kChains) * 8 * 4 * double(iterations); }


// The int8 sequences without VNNI (off the accumulator chain, so each chain multiplies a
// fresh operand by its own: otherwise the products would be hoisted out of the loop). vpmaddwd: each int32 lane gains two i16 products
// (1 * 1); vpmaddubsw + vpmaddwd: four u8 x s8 products, summed to i16 pairs, then to
// i32 by a multiply with ones. Per lane: 2 pairs (4 ops) or 4 pairs (8 ops).
// The accumulator chains only carry a 1-cycle vpaddd, so fewer of them suffice; each
// keeps its own multiplier in a register (6 chains: accumulators, multipliers and the
// shared operands fit the register file without spilling the chains to memory).
constexpr int kMaddChains = 6;

double int8_madd(std::size_t iterations) {
  __m256i acc[kMaddChains];
  for (int c = 0; c < kMaddChains; ++c)
    acc[c] = _mm256_add_epi32(_mm256_set1_epi32(c), _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
  __m256i a = _mm256_set1_epi16(1), b[kMaddChains];
  for (int c = 0; c < kMaddChains; ++c) {
    b[c] = _mm256_set1_epi16(1);
    opaque(b[c]);
  }
  for (std::size_t i = 0; i < iterations; ++i) {
    opaque(a);  // a fresh operand every iteration: the products cannot be hoisted
#pragma GCC unroll 12
    for (int c = 0; c < kMaddChains; ++c) acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(a, b[c]));
  }
  return sum_lanes<std::int32_t>(acc, kMaddChains);
}
double int8_madd_expected(std::size_t iterations) { return start_sum(kMaddChains, 8) + double(kMaddChains) * 8 * 2 * double(iterations); }

double int8_maddubs(std::size_t iterations) {
  __m256i acc[kMaddChains];
  for (int c = 0; c < kMaddChains; ++c)
    acc[c] = _mm256_add_epi32(_mm256_set1_epi32(c), _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
  __m256i a = _mm256_set1_epi8(1), b[kMaddChains], ones = _mm256_set1_epi16(1);
  for (int c = 0; c < kMaddChains; ++c) {
    b[c] = _mm256_set1_epi8(1);
    opaque(b[c]);
  }
  opaque(ones);
  for (std::size_t i = 0; i < iterations; ++i) {
    opaque(a);
#pragma GCC unroll 12
    for (int c = 0; c < kMaddChains; ++c)
      acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b[c]), ones));
  }
  return sum_lanes<std::int32_t>(acc, kMaddChains);
}
double int8_maddubs_expected(std::size_t iterations) {
  return start_sum(kMaddChains, 8) + double(kMaddChains) * 8 * 4 * double(iterations);
}

// bf16 without a bf16 dot: a vector of bf16 pairs widened to two fp32 vectors (shift,
// mask), each feeding half of the FMA chains, as the kernels' tiles share one widened
// weight vector between the rows of a tile. The pair vector is made opaque every
// iteration, so the widening is really executed each time.
double bf16_widened(std::size_t iterations) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_add_ps(_mm256_set1_ps(float(c)), _mm256_set_ps(7, 6, 5, 4, 3, 2, 1, 0));
  __m256i pairs = _mm256_set1_epi32(0x3f803f80);  // bf16 1.0 in both halves
  __m256 one = _mm256_set1_ps(1.0f);
  const __m256i high = _mm256_set1_epi32(int(0xffff0000u));
  opaque(one);
  for (std::size_t i = 0; i < iterations; ++i) {
    opaque(pairs);
    const __m256 lo = _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16));
    const __m256 hi = _mm256_castsi256_ps(_mm256_and_si256(pairs, high));
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(c % 2 ? hi : lo, one, acc[c]);
  }
  return sum_lanes<float>(acc, kChains);
}

}  // namespace roofaudit::kernels::avx2_peak
