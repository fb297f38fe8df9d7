// The low-precision products on 256-bit vectors: AVX2 (vpmaddwd + vpaddd) and, with the
// same code, AVX-VNNI (vpdpbusd ymm). See lowp_wide.hpp.
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
#pragma GCC target("avx2,fma,f16c")

namespace roofaudit::kernels::lowp {
namespace avx2_vec {
struct Vec256 {
  using I = __m256i;
  using F = __m256;
  static constexpr std::size_t kLanes = 8;
  // 16 registers: 4 x 2 accumulators, 2 (int8) or 4 (bf16) weight vectors, 1-2 broadcasts.
  static constexpr std::size_t kMr = 4;
  static I zero_i() { return _mm256_setzero_si256(); }
  static I bcast_i(std::uint32_t v) { return _mm256_set1_epi32(int(v)); }
  static I add_i(I a, I b) { return _mm256_add_epi32(a, b); }
  static I load_i(const std::int32_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
  static void store_i(std::int32_t* p, I v) { _mm256_store_si256(reinterpret_cast<__m256i*>(p), v); }
  static I load_u32(const std::uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static F low_bf16(I raw) { return _mm256_castsi256_ps(_mm256_slli_epi32(raw, 16)); }
  static F high_bf16(I raw) { return _mm256_castsi256_ps(_mm256_and_si256(raw, _mm256_set1_epi32(int(0xffff0000u)))); }
  static F zero_f() { return _mm256_setzero_ps(); }
  static F bcast_f(float v) { return _mm256_set1_ps(v); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F add_f(F a, F b) { return _mm256_add_ps(a, b); }
  static F load_f(const float* p) { return _mm256_load_ps(p); }
  static void store_f(float* p, F v) { _mm256_store_ps(p, v); }
  static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
};
}  // namespace avx2_vec
namespace avx2 {
struct Vec : avx2_vec::Vec256 {
  static constexpr std::size_t kInt8Group = 2;
  static I load_int8(const std::int8_t* p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static I dot_int8(I acc, I w, I x) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w, x)); }
};
}  // namespace avx2
}  // namespace roofaudit::kernels::lowp

#define ROOFAUDIT_WIDE_NS avx2
#include "kernels/cpu/lowp_wide_impl.hpp"
#undef ROOFAUDIT_WIDE_NS

#pragma GCC target("avxvnni")
namespace roofaudit::kernels::lowp::avxvnni {
struct Vec : avx2_vec::Vec256 {
  static constexpr std::size_t kInt8Group = 4;
  static I load_int8(const std::int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  // acc += (u8 quads of x) . (s8 quads of w)
  static I dot_int8(I acc, I w, I x) { return _mm256_dpbusd_avx_epi32(acc, x, w); }
};
}  // namespace roofaudit::kernels::lowp::avxvnni

#define ROOFAUDIT_WIDE_NS avxvnni
#include "kernels/cpu/lowp_wide_impl.hpp"
#undef ROOFAUDIT_WIDE_NS

#pragma GCC pop_options

namespace roofaudit::kernels::lowp {
const WideKernels kWide_avx2 = {"avx2", "vpmovsxbw + vpmaddwd + vpaddd ymm", "bf16 widened, vfmadd231ps ymm",
                                avx2::kPanel, avx2::kG, avx2::product_int8, avx2::product_bf16};
const WideKernels kWide_avxvnni = {"avx-vnni", "vpdpbusd ymm (AVX-VNNI) 4x16 tile", "bf16 widened, vfmadd231ps ymm",
                                   avxvnni::kPanel, avxvnni::kG, avxvnni::product_int8, avxvnni::product_bf16};
}  // namespace roofaudit::kernels::lowp
