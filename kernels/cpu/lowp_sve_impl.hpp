// The low-precision products on SVE (see lowp_wide.hpp), built once per vector length:
// lowp_sve128.cpp, lowp_sve256.cpp and lowp_sve512.cpp include this with
// -msve-vector-bits=N, so the vectors have a fixed size there and the framework's tiles
// (arrays of accumulators) hold them. lowp.cpp picks the build whose length the process
// runs at (Neoverse V2: 128, V1: 256, A64FX: 512).
//   int8: SDOT on quads of signed bytes (base SVE).
//   bf16: BFDOT on pairs (SVE with BF16); a CPU without BF16 is not offered this kernel for bf16.
// Blocking: tiles of 8 activation vectors by two vectors of weight rows (16 rows at 256
// bits), 16 accumulators of the 32 z registers, as the NEON tiles.
#include <arm_sve.h>
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "kernels/cpu/lowp_wide.hpp"

#if !defined(__ARM_FEATURE_SVE_BITS) || __ARM_FEATURE_SVE_BITS == 0
#error "lowp_sve_impl.hpp needs -msve-vector-bits=N"
#endif

#define ROOFAUDIT_SVE_JOIN2(a, b) a##b
#define ROOFAUDIT_SVE_JOIN(a, b) ROOFAUDIT_SVE_JOIN2(a, b)
#define ROOFAUDIT_WIDE_NS ROOFAUDIT_SVE_JOIN(sve, __ARM_FEATURE_SVE_BITS)

namespace roofaudit::kernels::lowp::ROOFAUDIT_WIDE_NS {
using FixedI = svint32_t __attribute__((arm_sve_vector_bits(__ARM_FEATURE_SVE_BITS)));
using FixedF = svfloat32_t __attribute__((arm_sve_vector_bits(__ARM_FEATURE_SVE_BITS)));

struct Vec {
  using I = FixedI;
  using F = FixedF;
  static constexpr std::size_t kLanes = __ARM_FEATURE_SVE_BITS / 32;
  static constexpr std::size_t kMr = 8;
  static constexpr std::size_t kInt8Group = 4;
  static constexpr bool kSignedQuads = true;  // sdot: s8 x s8
  static constexpr bool kBf16PairDot = true;
  static svbool_t all() { return svptrue_b32(); }
  static I zero_i() { return svdup_s32(0); }
  static I bcast_i(std::uint32_t v) { return svreinterpret_s32_u32(svdup_u32(v)); }
  static I add_i(I a, I b) { return svadd_s32_x(all(), a, b); }
  static I load_i(const std::int32_t* p) { return svld1_s32(all(), p); }
  static void store_i(std::int32_t* p, I v) { svst1_s32(all(), p, v); }
  static I load_u32(const std::uint32_t* p) { return svreinterpret_s32_u32(svld1_u32(all(), p)); }
  static F low_bf16(I raw) { return svreinterpret_f32_s32(svlsl_n_s32_x(all(), raw, 16)); }
  static F high_bf16(I raw) {
    return svreinterpret_f32_u32(svand_n_u32_x(all(), svreinterpret_u32_s32(raw), 0xffff0000u));
  }
  static F zero_f() { return svdup_f32(0.0f); }
  static F bcast_f(float v) { return svdup_f32(v); }
  static F fma(F a, F b, F c) { return svmla_f32_x(all(), c, a, b); }
  static F add_f(F a, F b) { return svadd_f32_x(all(), a, b); }
  static F load_f(const float* p) { return svld1_f32(all(), p); }
  static void store_f(float* p, F v) { svst1_f32(all(), p, v); }
  static void prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }
  static I load_int8(const std::int8_t* p) { return svreinterpret_s32_s8(svld1_s8(svptrue_b8(), p)); }
  static I dot_int8(I acc, I w, I x) { return svdot_s32(acc, svreinterpret_s8_s32(w), svreinterpret_s8_s32(x)); }
  static F dot_bf16(F acc, I w, I x) {
    return svbfdot_f32(acc, svreinterpret_bf16_s32(w), svreinterpret_bf16_s32(x));
  }
};
}  // namespace roofaudit::kernels::lowp::ROOFAUDIT_WIDE_NS

#include "kernels/cpu/lowp_wide_impl.hpp"

namespace roofaudit::kernels::lowp {
extern const WideKernels ROOFAUDIT_SVE_JOIN(kWide_sve, __ARM_FEATURE_SVE_BITS);
const WideKernels ROOFAUDIT_SVE_JOIN(kWide_sve, __ARM_FEATURE_SVE_BITS) = {
    "sve", "sdot z (s8 quads) 8-vector tile", "bfdot z (bf16 pairs) 8-vector tile", ROOFAUDIT_WIDE_NS::kPanel,
    ROOFAUDIT_WIDE_NS::kG,  ROOFAUDIT_WIDE_NS::product_int8,      ROOFAUDIT_WIDE_NS::product_bf16};
}  // namespace roofaudit::kernels::lowp

#undef ROOFAUDIT_WIDE_NS
#undef ROOFAUDIT_SVE_JOIN
#undef ROOFAUDIT_SVE_JOIN2
