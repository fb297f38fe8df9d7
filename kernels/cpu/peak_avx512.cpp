// Peak kernels with 512-bit vectors: FMA (fp64, fp32), AVX512_BF16 and AVX512_VNNI dots, and
// for AVX-512 BW without them the widening kernels' int8 and bf16 sequences (see peak_avx2.cpp).
#include <immintrin.h>

#include "kernels/cpu/peak.hpp"
#include "kernels/cpu/peak_impl.hpp"

namespace roofaudit::kernels::avx512_peak {
using peak_detail::opaque;
using peak_detail::start_sum;
using peak_detail::sum_lanes;

// Sixteen chains: enough for 2 pipes x latency up to 8 cycles, within 32 registers.
constexpr int kChains = 16;

double fp64_fma(std::size_t iterations) {
  __m512d acc[kChains];
  for (int c = 0; c < kChains; ++c)
    acc[c] = _mm512_add_pd(_mm512_set1_pd(c), _mm512_set_pd(7, 6, 5, 4, 3, 2, 1, 0));
  __m512d one = _mm512_set1_pd(1.0), inc = _mm512_set1_pd(1.0);
  opaque(one);
  for (std::size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_pd(acc[c], one, inc);
  }
  return sum_lanes<double>(acc, kChains);
}
double fp64_expected(std::size_t iterations) { return start_sum(kChains, 8) + double(kChains) * 8 * double(iterations); }

double fp32_fma(std::size_t iterations) {
  __m512 acc[kChains];
  const __m512 lanes = _mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_add_ps(_mm512_set1_ps(float(c)), lanes);
  __m512 one = _mm512_set1_ps(1.0f), inc = _mm512_set1_ps(1.0f);
  opaque(one);
  for (std::size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], one, inc);
  }
  return sum_lanes<float>(acc, kChains);
}
double fp32_expected(std::size_t iterations) { return start_sum(kChains, 16) + double(kChains) * 16 * double(iterations); }

// vdpbf16ps: each fp32 lane gains a0*b0 + a1*b1 = 1 + 1 per instruction. The two products
// are added one after the other, each rounded, so the lanes stay exact only while a
// single product (1.0) is at least one ulp: below 2^24.
__attribute__((target("avx512bf16"))) double bf16_dot(std::size_t iterations) {
  __m512 acc[kChains];
  const __m512 lanes = _mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_add_ps(_mm512_set1_ps(float(c)), lanes);
  __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1.0f), _mm512_set1_ps(1.0f));
  __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1.0f), _mm512_set1_ps(1.0f));
  opaque(a);
  opaque(b);
  for (std::size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  }
  return sum_lanes<float>(acc, kChains);
}
double bf16_expected(std::size_t iterations) { return start_sum(kChains, 16) + double(kChains) * 16 * 2 * double(iterations); }

// vpdpbusd: each int32 lane gains four u8 x s8 products, 1 * 1 each.
__attribute__((target("avx512vnni"))) double int8_dot(std::size_t iterations) {
  __m512i acc[kChains];
  const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_add_epi32(_mm512_set1_epi32(c), lanes);
  __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(1);
  opaque(a);
  opaque(b);
  for (std::size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
  }
  return sum_lanes<std::int32_t>(acc, kChains);
}
double int8_expected(std::size_t iterations) { return start_sum(kChains, 16) + double(kChains) * 16 * 4 * double(iterations); }


// The accumulator chains only carry a 1-cycle vpaddd, so fewer of them suffice; each
// keeps its own multiplier in a register (12 chains: accumulators, multipliers and the
// shared operands fit the register file without spilling the chains to memory).
constexpr int kMaddChains = 12;

double int8_madd(std::size_t iterations) {
  __m512i acc[kMaddChains];
  const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (int c = 0; c < kMaddChains; ++c) acc[c] = _mm512_add_epi32(_mm512_set1_epi32(c), lanes);
  __m512i a = _mm512_set1_epi16(1), b[kMaddChains];
  for (int c = 0; c < kMaddChains; ++c) {
    b[c] = _mm512_set1_epi16(1);
    opaque(b[c]);
  }
  for (std::size_t i = 0; i < iterations; ++i) {
    opaque(a);  // a fresh operand every iteration: the products cannot be hoisted
#pragma GCC unroll 16
    for (int c = 0; c < kMaddChains; ++c) acc[c] = _mm512_add_epi32(acc[c], _mm512_madd_epi16(a, b[c]));
  }
  return sum_lanes<std::int32_t>(acc, kMaddChains);
}
double int8_madd_expected(std::size_t iterations) { return start_sum(kMaddChains, 16) + double(kMaddChains) * 16 * 2 * double(iterations); }

double int8_maddubs(std::size_t iterations) {
  __m512i acc[kMaddChains];
  const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (int c = 0; c < kMaddChains; ++c) acc[c] = _mm512_add_epi32(_mm512_set1_epi32(c), lanes);
  __m512i a = _mm512_set1_epi8(1), b[kMaddChains], ones = _mm512_set1_epi16(1);
  for (int c = 0; c < kMaddChains; ++c) {
    b[c] = _mm512_set1_epi8(1);
    opaque(b[c]);
  }
  opaque(ones);
  for (std::size_t i = 0; i < iterations; ++i) {
    opaque(a);
#pragma GCC unroll 16
    for (int c = 0; c < kMaddChains; ++c)
      acc[c] = _mm512_add_epi32(acc[c], _mm512_madd_epi16(_mm512_maddubs_epi16(a, b[c]), ones));
  }
  return sum_lanes<std::int32_t>(acc, kMaddChains);
}
double int8_maddubs_expected(std::size_t iterations) {
  return start_sum(kMaddChains, 16) + double(kMaddChains) * 16 * 4 * double(iterations);
}

double bf16_widened(std::size_t iterations) {
  __m512 acc[kChains];
  const __m512 lanes = _mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_add_ps(_mm512_set1_ps(float(c)), lanes);
  __m512i pairs = _mm512_set1_epi32(0x3f803f80);  // bf16 1.0 in both halves
  __m512 one = _mm512_set1_ps(1.0f);
  const __m512i high = _mm512_set1_epi32(int(0xffff0000u));
  opaque(one);
  for (std::size_t i = 0; i < iterations; ++i) {
    opaque(pairs);
    const __m512 lo = _mm512_castsi512_ps(_mm512_maskz_slli_epi32(__mmask16(0xffff), pairs, 16));
    const __m512 hi = _mm512_castsi512_ps(_mm512_and_si512(pairs, high));
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(c % 2 ? hi : lo, one, acc[c]);
  }
  return sum_lanes<float>(acc, kChains);
}

}  // namespace roofaudit::kernels::avx512_peak
