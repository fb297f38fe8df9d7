// Peak kernels on AArch64's 128-bit Advanced SIMD (NEON) registers: fp64/fp32 FMLA, and per
// extension the int8 and bf16 dot and matrix instructions (each function carries its own
// target, so the file runs on any ARMv8-A core and each extension's function only where
// the kernel reports it).
//
// Chains: 20 independent accumulators. Neoverse V1 and V2 have four 128-bit FP/SIMD pipes
// and FMLA takes 4 cycles, so 16 chains in flight keep every pipe busy; SDOT/USDOT/SMMLA
// take 3 cycles and BFDOT/BFMMLA 4-5 on those cores (Arm's software optimisation guides).
// 20 chains plus two operands fit the 32 registers without spilling. Neoverse N1 (two
// pipes) needs only 8.
#include <arm_neon.h>

#include <cstdint>

#include "kernels/cpu/peak.hpp"
#include "kernels/cpu/peak_impl.hpp"

#define ROOFAUDIT_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define ROOFAUDIT_I8MM __attribute__((target("arch=armv8.2-a+i8mm")))
#define ROOFAUDIT_BF16 __attribute__((target("arch=armv8.2-a+bf16")))

namespace roofaudit::kernels::neon_peak {
using peak_detail::opaque;
using peak_detail::start_sum;
using peak_detail::sum_lanes;

constexpr int kChains = 20;

template <typename V, typename Step>
__attribute__((always_inline)) inline void advance(V (&acc)[kChains], std::size_t iterations, Step step) {
  for (std::size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 20
    for (int c = 0; c < kChains; ++c) acc[c] = step(acc[c]);
  }
}

// Lane l of chain c starts at c + l.
inline int32x4_t lanes_i(int c) {
  const int32_t l[4] = {c, c + 1, c + 2, c + 3};
  return vld1q_s32(l);
}
inline float32x4_t lanes_f(int c) { return vcvtq_f32_s32(lanes_i(c)); }
inline float64x2_t lanes_d(int c) {
  const double l[2] = {double(c), double(c + 1)};
  return vld1q_f64(l);
}

// Closed forms: every lane of every chain gains `per_lane` per iteration.
inline double expected_lanes(int lanes, double per_lane, std::size_t iterations) {
  return start_sum(kChains, lanes) + double(kChains) * lanes * per_lane * double(iterations);
}

double fp64_fma(std::size_t iterations) {
  float64x2_t acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = lanes_d(c);
  float64x2_t one = vdupq_n_f64(1.0);
  const float64x2_t inc = one;
  opaque(one);
  advance(acc, iterations, [one, inc](float64x2_t a) { return vfmaq_f64(inc, a, one); });
  return sum_lanes<double>(acc, kChains);
}
double fp64_expected(std::size_t iterations) { return expected_lanes(2, 1, iterations); }

double fp32_fma(std::size_t iterations) {
  float32x4_t acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = lanes_f(c);
  float32x4_t one = vdupq_n_f32(1.0f);
  const float32x4_t inc = one;
  opaque(one);
  advance(acc, iterations, [one, inc](float32x4_t a) { return vfmaq_f32(inc, a, one); });
  return sum_lanes<float>(acc, kChains);
}
double fp32_expected(std::size_t iterations) { return expected_lanes(4, 1, iterations); }

// int8 without a dot instruction: each iteration widens a fresh int8 vector (sxtl,
// sxtl2) and every chain multiplies a half by its own int16 operand into int32 lanes
// (smlal / smlal2): one product per lane per instruction.
double int8_widened(std::size_t iterations) {
  int32x4_t acc[kChains];
  int16x8_t b[kChains / 2];
  for (int c = 0; c < kChains; ++c) acc[c] = lanes_i(c);
  for (int c = 0; c < kChains / 2; ++c) {
    b[c] = vdupq_n_s16(1);
    opaque(b[c]);
  }
  int8x16_t a = vdupq_n_s8(1);
  for (std::size_t i = 0; i < iterations; ++i) {
    opaque(a);
    const int16x8_t lo = vmovl_s8(vget_low_s8(a)), hi = vmovl_high_s8(a);
#pragma GCC unroll 20
    for (int c = 0; c < kChains; ++c)
      acc[c] = c % 2 ? vmlal_high_s16(acc[c], hi, b[c / 2]) : vmlal_s16(acc[c], vget_low_s16(lo), vget_low_s16(b[c / 2]));
  }
  return sum_lanes<std::int32_t>(acc, kChains);
}
double int8_widened_expected(std::size_t iterations) { return expected_lanes(4, 1, iterations); }

// bf16 without a bf16 instruction: a vector of bf16 pairs widened to two fp32 vectors (shift
// left 16, mask), each feeding half of the FMLA chains; the pairs are made opaque every
// iteration so the widening really runs. Its checksum is fp32_fma's.
double bf16_widened(std::size_t iterations) {
  float32x4_t acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = lanes_f(c);
  uint32x4_t pairs = vdupq_n_u32(0x3f803f80u);  // bf16 1.0 in both halves
  float32x4_t one = vdupq_n_f32(1.0f);
  opaque(one);
  const uint32x4_t mask = vdupq_n_u32(0xffff0000u);
  for (std::size_t i = 0; i < iterations; ++i) {
    opaque(pairs);
    const float32x4_t lo = vreinterpretq_f32_u32(vshlq_n_u32(pairs, 16));
    const float32x4_t hi = vreinterpretq_f32_u32(vandq_u32(pairs, mask));
#pragma GCC unroll 20
    for (int c = 0; c < kChains; ++c) acc[c] = vfmaq_f32(acc[c], c % 2 ? hi : lo, one);
  }
  return sum_lanes<float>(acc, kChains);
}

// SDOT: each int32 lane gains four s8 x s8 products, 1 * 1 each.
ROOFAUDIT_DOTPROD double int8_sdot(std::size_t iterations) {
  int32x4_t acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = lanes_i(c);
  int8x16_t a = vdupq_n_s8(1), b = vdupq_n_s8(1);
  opaque(a);
  opaque(b);
  advance(acc, iterations, [a, b](int32x4_t x) ROOFAUDIT_DOTPROD { return vdotq_s32(x, a, b); });
  return sum_lanes<std::int32_t>(acc, kChains);
}
double int8_dot_expected(std::size_t iterations) { return expected_lanes(4, 4, iterations); }

// USDOT (I8MM): four u8 x s8 products per lane, the pairing x86's vpdpbusd has.
ROOFAUDIT_I8MM double int8_usdot(std::size_t iterations) {
  int32x4_t acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = lanes_i(c);
  uint8x16_t a = vdupq_n_u8(1);
  int8x16_t b = vdupq_n_s8(1);
  opaque(a);
  opaque(b);
  advance(acc, iterations, [a, b](int32x4_t x) ROOFAUDIT_I8MM { return vusdotq_s32(x, a, b); });
  return sum_lanes<std::int32_t>(acc, kChains);
}

// SMMLA (I8MM): a 2 x 8 by 8 x 2 int8 product into a 2 x 2 int32 tile: each lane gains
// eight products, twice SDOT's work per instruction.
ROOFAUDIT_I8MM double int8_smmla(std::size_t iterations) {
  int32x4_t acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = lanes_i(c);
  int8x16_t a = vdupq_n_s8(1), b = vdupq_n_s8(1);
  opaque(a);
  opaque(b);
  advance(acc, iterations, [a, b](int32x4_t x) ROOFAUDIT_I8MM { return vmmlaq_s32(x, a, b); });
  return sum_lanes<std::int32_t>(acc, kChains);
}
double int8_mmla_expected(std::size_t iterations) { return expected_lanes(4, 8, iterations); }

// bf16 1.0 in every lane, built as integers and made opaque before the reinterpretation
// (a folded constant would become an fp16 fmov, which a bf16 core need not have).
ROOFAUDIT_BF16 inline bfloat16x8_t bf16_ones() {
  uint16x8_t bits = vdupq_n_u16(0x3f80);
  opaque(bits);
  bfloat16x8_t v = vreinterpretq_bf16_u16(bits);
  opaque(v);
  return v;
}

// BFDOT: each fp32 lane gains a pair of bf16 products (1 * 1 each).
ROOFAUDIT_BF16 double bf16_bfdot(std::size_t iterations) {
  float32x4_t acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = lanes_f(c);
  bfloat16x8_t a = bf16_ones(), b = bf16_ones();
  advance(acc, iterations, [a, b](float32x4_t x) ROOFAUDIT_BF16 { return vbfdotq_f32(x, a, b); });
  return sum_lanes<float>(acc, kChains);
}
double bf16_dot_expected(std::size_t iterations) { return expected_lanes(4, 2, iterations); }

// BFMMLA: a 2 x 4 by 4 x 2 bf16 product into a 2 x 2 fp32 tile: four products per lane.
ROOFAUDIT_BF16 double bf16_bfmmla(std::size_t iterations) {
  float32x4_t acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = lanes_f(c);
  bfloat16x8_t a = bf16_ones(), b = bf16_ones();
  advance(acc, iterations, [a, b](float32x4_t x) ROOFAUDIT_BF16 { return vbfmmlaq_f32(x, a, b); });
  return sum_lanes<float>(acc, kChains);
}
double bf16_mmla_expected(std::size_t iterations) { return expected_lanes(4, 4, iterations); }

}  // namespace roofaudit::kernels::neon_peak
