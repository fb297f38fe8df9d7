// Peak kernels with 256-bit vectors: FMA (fp64, fp32), AVX-VNNI int8 dots, and for AVX2
// without VNNI the int8 and bf16 sequences of peak_widening_impl.hpp.
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


struct W {
  using I = __m256i;
  using F = __m256;
  static constexpr int kLanes = 8, kChains = avx2_peak::kChains, kMaddChains = 6;
  static I lanes_from(int c) { return _mm256_add_epi32(_mm256_set1_epi32(c), _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0)); }
  static F lanes_from_f(int c) { return _mm256_add_ps(_mm256_set1_ps(float(c)), _mm256_set_ps(7, 6, 5, 4, 3, 2, 1, 0)); }
  static I set8(char v) { return _mm256_set1_epi8(v); }
  static I set16(short v) { return _mm256_set1_epi16(v); }
  static I set32(int v) { return _mm256_set1_epi32(v); }
  static I add32(I a, I b) { return _mm256_add_epi32(a, b); }
  static I madd(I a, I b) { return _mm256_madd_epi16(a, b); }
  static I maddubs(I a, I b) { return _mm256_maddubs_epi16(a, b); }
  static F set_ps(float v) { return _mm256_set1_ps(v); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F low_bf16(I p) { return _mm256_castsi256_ps(_mm256_slli_epi32(p, 16)); }
  static F high_bf16(I p) { return _mm256_castsi256_ps(_mm256_and_si256(p, _mm256_set1_epi32(int(0xffff0000u)))); }
};
#include "kernels/cpu/peak_widening_impl.hpp"

}  // namespace roofaudit::kernels::avx2_peak
