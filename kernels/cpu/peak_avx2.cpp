// Peak kernels with 256-bit vectors (peak_vector_impl.hpp): FMA (fp64, fp32), AVX-VNNI
// int8 dots, and for AVX2 without VNNI the widening int8 and bf16 sequences.
#include <immintrin.h>

#include "kernels/cpu/peak.hpp"
#include "kernels/cpu/peak_impl.hpp"

namespace roofaudit::kernels::avx2_peak {
using peak_detail::opaque;
using peak_detail::start_sum;
using peak_detail::sum_lanes;

// Twelve chains and two constants fit the 16 ymm registers.
constexpr int kChains = 12;

struct W {
  using I = __m256i;
  using F = __m256;
  using D = __m256d;
  static constexpr int kLanes = 8, kChains = avx2_peak::kChains, kMaddChains = 6;
  static I lanes_from(int c) { return _mm256_add_epi32(_mm256_set1_epi32(c), _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0)); }
  static F lanes_from_f(int c) { return _mm256_add_ps(_mm256_set1_ps(float(c)), _mm256_set_ps(7, 6, 5, 4, 3, 2, 1, 0)); }
  static D lanes_from_d(int c) { return _mm256_add_pd(_mm256_set1_pd(c), _mm256_set_pd(3, 2, 1, 0)); }
  static I set8(char v) { return _mm256_set1_epi8(v); }
  static I set16(short v) { return _mm256_set1_epi16(v); }
  static I set32(int v) { return _mm256_set1_epi32(v); }
  static I add32(I a, I b) { return _mm256_add_epi32(a, b); }
  static I madd(I a, I b) { return _mm256_madd_epi16(a, b); }
  static I maddubs(I a, I b) { return _mm256_maddubs_epi16(a, b); }
  static F set_ps(float v) { return _mm256_set1_ps(v); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static D set_pd(double v) { return _mm256_set1_pd(v); }
  static D fma_pd(D a, D b, D c) { return _mm256_fmadd_pd(a, b, c); }
  __attribute__((target("avxvnni"))) static I dpbusd(I acc, I a, I b) { return _mm256_dpbusd_avx_epi32(acc, a, b); }
  static F low_bf16(I p) { return _mm256_castsi256_ps(_mm256_slli_epi32(p, 16)); }
  static F high_bf16(I p) { return _mm256_castsi256_ps(_mm256_and_si256(p, _mm256_set1_epi32(int(0xffff0000u)))); }
};
#define ROOFAUDIT_PEAK_VNNI "avxvnni"
#include "kernels/cpu/peak_vector_impl.hpp"
#undef ROOFAUDIT_PEAK_VNNI

}  // namespace roofaudit::kernels::avx2_peak
