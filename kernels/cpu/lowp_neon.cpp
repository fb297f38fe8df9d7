// The low-precision products on AArch64's 128-bit Advanced SIMD registers (see
// lowp_wide.hpp), two ways:
//   neon      int8: bytes sign-extended to 16 bits (sxtl), pair products widened into
//             int32 (smull, smull2) and summed pairwise (addp), x86's vpmaddwd in three
//             instructions. bf16: each pair of weights widened to two fp32 vectors
//             (shift, mask), then FMLA against broadcast fp32 activations.
//   neon_dot  int8: SDOT on quads of signed bytes (dotprod). bf16: BFDOT on pairs (bf16).
//   neon_mmla int8: SMMLA (signed activations) / USMMLA (unsigned) on 2 x 8 blocks (i8mm).
//             bf16: BFMMLA on 2 x 4 blocks (bf16). Twice a dot instruction's products per
//             instruction: Neoverse V1/V2 issue SMMLA at SDOT's rate.
// Blocking for Neoverse V1/V2 (four 128-bit pipes, 32 vector registers): tiles of 8
// activation vectors by 8 weight rows (two vectors) keep 16 accumulators, two weight
// vectors and a broadcast in registers; N1 (two pipes) runs the same tiles at half rate.
#include <arm_neon.h>
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "kernels/cpu/lowp_wide.hpp"

namespace roofaudit::kernels::lowp {
namespace neon_vec {
struct Vec128 {
  using I = int32x4_t;
  using F = float32x4_t;
  static constexpr std::size_t kLanes = 4;
  static constexpr std::size_t kMr = 8;
  static I zero_i() { return vdupq_n_s32(0); }
  static I bcast_i(std::uint32_t v) { return vreinterpretq_s32_u32(vdupq_n_u32(v)); }
  static I add_i(I a, I b) { return vaddq_s32(a, b); }
  static I load_i(const std::int32_t* p) { return vld1q_s32(p); }
  static void store_i(std::int32_t* p, I v) { vst1q_s32(p, v); }
  static I load_u32(const std::uint32_t* p) { return vreinterpretq_s32_u32(vld1q_u32(p)); }
  static F low_bf16(I raw) { return vreinterpretq_f32_s32(vshlq_n_s32(raw, 16)); }
  static F high_bf16(I raw) {
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_s32(raw), vdupq_n_u32(0xffff0000u)));
  }
  static F zero_f() { return vdupq_n_f32(0.0f); }
  static F bcast_f(float v) { return vdupq_n_f32(v); }
  static F fma(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static F add_f(F a, F b) { return vaddq_f32(a, b); }
  static F load_f(const float* p) { return vld1q_f32(p); }
  static void store_f(float* p, F v) { vst1q_f32(p, v); }
  static void prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }
};
}  // namespace neon_vec

namespace neon {
struct Vec : neon_vec::Vec128 {
  static constexpr std::size_t kInt8Group = 2;
  // 4 rows x a pair of int8, sign-extended to 8 int16.
  static I load_int8(const std::int8_t* p) { return vreinterpretq_s32_s16(vmovl_s8(vld1_s8(p))); }
  // acc += the pair dot of each row's int16 pair with x's (x0 | x1 << 16 in every lane).
  static I dot_int8(I acc, I w, I x) {
    const int16x8_t w16 = vreinterpretq_s16_s32(w), x16 = vreinterpretq_s16_s32(x);
    const int32x4_t lo = vmull_s16(vget_low_s16(w16), vget_low_s16(x16)), hi = vmull_high_s16(w16, x16);
    return vaddq_s32(acc, vpaddq_s32(lo, hi));
  }
};
}  // namespace neon
}  // namespace roofaudit::kernels::lowp

#define ROOFAUDIT_WIDE_NS neon
#include "kernels/cpu/lowp_wide_impl.hpp"
#undef ROOFAUDIT_WIDE_NS

#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod+bf16")
namespace roofaudit::kernels::lowp::neon_dot {
struct Vec : neon_vec::Vec128 {
  static constexpr std::size_t kInt8Group = 4;
  static constexpr bool kSignedQuads = true;  // sdot: s8 x s8
  static constexpr bool kBf16PairDot = true;
  static I load_int8(const std::int8_t* p) { return vreinterpretq_s32_s8(vld1q_s8(p)); }
  static I dot_int8(I acc, I w, I x) { return vdotq_s32(acc, vreinterpretq_s8_s32(w), vreinterpretq_s8_s32(x)); }
  // Each fp32 lane += w_even * x_even + w_odd * x_odd.
  static F dot_bf16(F acc, I w, I x) {
    return vbfdotq_f32(acc, vreinterpretq_bf16_s32(w), vreinterpretq_bf16_s32(x));
  }
};
}  // namespace roofaudit::kernels::lowp::neon_dot

#define ROOFAUDIT_WIDE_NS neon_dot
#include "kernels/cpu/lowp_wide_impl.hpp"
#undef ROOFAUDIT_WIDE_NS
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+i8mm+bf16")
namespace roofaudit::kernels::lowp::neon_mmla {
struct Vec : neon_vec::Vec128 {
  static constexpr std::size_t kInt8Group = 8;
  static constexpr bool kMmla = true;
  static I load_16(const void* p) { return vreinterpretq_s32_u8(vld1q_u8(static_cast<const std::uint8_t*>(p))); }
  template <int kKind>
  static auto mmla_zero() {
    if constexpr (kKind == 2) return vdupq_n_f32(0.0f);
    else return vdupq_n_s32(0);
  }
  // acc (2 x 2) += x (2 vectors x 8 bytes) . w (2 rows x 8 bytes)^T.
  template <int kKind, typename A>
  static A mmla(A acc, I x, I w) {
    if constexpr (kKind == 0) return vmmlaq_s32(acc, vreinterpretq_s8_s32(x), vreinterpretq_s8_s32(w));
    else if constexpr (kKind == 1) return vusmmlaq_s32(acc, vreinterpretq_u8_s32(x), vreinterpretq_s8_s32(w));
    else return vbfmmlaq_f32(acc, vreinterpretq_bf16_s32(x), vreinterpretq_bf16_s32(w));
  }
  // Lanes (0, 1) are vector 2i's results for rows 2j, 2j + 1; lanes (2, 3) vector 2i + 1's.
  static void store_2x2(std::int32_t* row0, std::int32_t* row1, I acc, bool add) {
    int32x2_t lo = vget_low_s32(acc), hi = vget_high_s32(acc);
    if (add) {
      lo = vadd_s32(lo, vld1_s32(row0));
      hi = vadd_s32(hi, vld1_s32(row1));
    }
    vst1_s32(row0, lo);
    vst1_s32(row1, hi);
  }
  static void store_2x2(float* row0, float* row1, F acc, bool add) {
    float32x2_t lo = vget_low_f32(acc), hi = vget_high_f32(acc);
    if (add) {
      lo = vadd_f32(lo, vld1_f32(row0));
      hi = vadd_f32(hi, vld1_f32(row1));
    }
    vst1_f32(row0, lo);
    vst1_f32(row1, hi);
  }
};
}  // namespace roofaudit::kernels::lowp::neon_mmla

#define ROOFAUDIT_WIDE_NS neon_mmla
#include "kernels/cpu/lowp_wide_impl.hpp"
#undef ROOFAUDIT_WIDE_NS
#pragma GCC pop_options

namespace roofaudit::kernels::lowp {
const WideKernels kWide_neon = {"neon", "sxtl + smull/smull2 + addp (i16 pairs) 8x8 tile",
                                "bf16 widened (shl/and), fmla 8x8 tile", neon::kPanel, neon::kG,
                                neon::product_int8, neon::product_bf16};
const WideKernels kWide_neon_dot = {"dotprod", "sdot (s8 quads) 8x8 tile", "bfdot (bf16 pairs) 8x8 tile",
                                    neon_dot::kPanel, neon_dot::kG, neon_dot::product_int8, neon_dot::product_bf16};
const WideKernels kWide_neon_mmla = {"i8mm", "smmla / usmmla (2x8 blocks) 8x8 tile", "bfmmla (2x4 blocks) 8x8 tile",
                                     neon_mmla::kPanel, neon_mmla::kG, neon_mmla::product_int8, neon_mmla::product_bf16,
                                     4};
}  // namespace roofaudit::kernels::lowp
