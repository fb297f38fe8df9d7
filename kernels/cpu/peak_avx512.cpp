// Peak kernels with 512-bit vectors (peak_vector_impl.hpp): FMA (fp64, fp32), AVX512_VNNI
// int8 dots, AVX512_BF16 dots (here), and for AVX-512 BW without them the widening sequences.
#include <immintrin.h>

#include "kernels/cpu/peak.hpp"
#include "kernels/cpu/peak_impl.hpp"

namespace roofaudit::kernels::avx512_peak {
using peak_detail::opaque;
using peak_detail::start_sum;
using peak_detail::sum_lanes;

// Sixteen chains: enough for 2 pipes x latency up to 8 cycles, within 32 registers.
constexpr int kChains = 16;

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

struct W {
  using I = __m512i;
  using F = __m512;
  using D = __m512d;
  static constexpr int kLanes = 16, kChains = avx512_peak::kChains, kMaddChains = 12;
  static I lanes_from(int c) {
    return _mm512_add_epi32(_mm512_set1_epi32(c), _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  }
  static F lanes_from_f(int c) {
    return _mm512_add_ps(_mm512_set1_ps(float(c)), _mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
  }
  static D lanes_from_d(int c) { return _mm512_add_pd(_mm512_set1_pd(c), _mm512_set_pd(7, 6, 5, 4, 3, 2, 1, 0)); }
  static I set8(char v) { return _mm512_set1_epi8(v); }
  static I set16(short v) { return _mm512_set1_epi16(v); }
  static I set32(int v) { return _mm512_set1_epi32(v); }
  static I add32(I a, I b) { return _mm512_add_epi32(a, b); }
  static I madd(I a, I b) { return _mm512_madd_epi16(a, b); }
  static I maddubs(I a, I b) { return _mm512_maddubs_epi16(a, b); }
  static F set_ps(float v) { return _mm512_set1_ps(v); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static D set_pd(double v) { return _mm512_set1_pd(v); }
  static D fma_pd(D a, D b, D c) { return _mm512_fmadd_pd(a, b, c); }
  __attribute__((target("avx512vnni"))) static I dpbusd(I acc, I a, I b) { return _mm512_dpbusd_epi32(acc, a, b); }
  // maskz: the unmasked shift trips a GCC 12 -Wmaybe-uninitialized in its own header.
  static F low_bf16(I p) { return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(__mmask16(0xffff), p, 16)); }
  static F high_bf16(I p) { return _mm512_castsi512_ps(_mm512_and_si512(p, _mm512_set1_epi32(int(0xffff0000u)))); }
};
#define ROOFAUDIT_PEAK_VNNI "avx512vnni"
#include "kernels/cpu/peak_vector_impl.hpp"
#undef ROOFAUDIT_PEAK_VNNI

}  // namespace roofaudit::kernels::avx512_peak
