// The widening low-precision products on 512-bit vectors, for AVX-512 F/BW CPUs without
// VNNI/BF16 (Skylake-SP class): vpmaddwd + vpaddd zmm, and bf16 widened to fp32 FMA.
// See lowp_wide.hpp.
#include <immintrin.h>
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "kernels/cpu/lowp_wide.hpp"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")

namespace roofaudit::kernels::lowp::avx512 {
struct Vec {
  using I = __m512i;
  using F = __m512;
  static constexpr std::size_t kLanes = 16;
  // 32 registers: 8 x 2 accumulators, 2-4 weight vectors, 1-2 broadcasts.
  static constexpr std::size_t kMr = 8;
  static I zero_i() { return _mm512_setzero_si512(); }
  static constexpr std::size_t kInt8Group = 2;
  static I load_int8(const std::int8_t* p) {
    return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static I bcast_i(std::uint32_t v) { return _mm512_set1_epi32(int(v)); }
  static I dot_int8(I acc, I w, I x) { return _mm512_add_epi32(acc, _mm512_madd_epi16(w, x)); }
  static I add_i(I a, I b) { return _mm512_add_epi32(a, b); }
  static I load_i(const std::int32_t* p) { return _mm512_load_si512(p); }
  static void store_i(std::int32_t* p, I v) { _mm512_store_si512(p, v); }
  static I load_u32(const std::uint32_t* p) { return _mm512_loadu_si512(p); }
  // maskz: the unmasked form trips a GCC 12 -Wmaybe-uninitialized in its own header.
  static F low_bf16(I raw) { return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(__mmask16(0xffff), raw, 16)); }
  static F high_bf16(I raw) { return _mm512_castsi512_ps(_mm512_and_si512(raw, _mm512_set1_epi32(int(0xffff0000u)))); }
  static F zero_f() { return _mm512_setzero_ps(); }
  static F bcast_f(float v) { return _mm512_set1_ps(v); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F add_f(F a, F b) { return _mm512_add_ps(a, b); }
  static F load_f(const float* p) { return _mm512_load_ps(p); }
  static void store_f(float* p, F v) { _mm512_store_ps(p, v); }
  static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
};
}  // namespace roofaudit::kernels::lowp::avx512

#define ROOFAUDIT_WIDE_NS avx512
#include "kernels/cpu/lowp_wide_impl.hpp"
#undef ROOFAUDIT_WIDE_NS

#pragma GCC pop_options

namespace roofaudit::kernels::lowp {
const WideKernels kWide_avx512 = {"avx512", "vpmovsxbw + vpmaddwd + vpaddd zmm", "bf16 widened, vfmadd231ps zmm",
                                  avx512::kPanel, avx512::kG, avx512::product_int8, avx512::product_bf16};
}  // namespace roofaudit::kernels::lowp
