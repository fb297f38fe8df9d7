// Peak kernels on SVE at the vector length the process runs (svcntw() 32-bit lanes): fp64
// and fp32 FMLA, SDOT, and with the matching extensions SMMLA (I8MM), BFDOT and BFMMLA
// (BF16). Every function carries its own target, so the file runs its SVE parts only
// where the kernel reports SVE.
//
// Chains: 16 independent accumulators. Neoverse V1 issues two 256-bit SVE FMLAs per cycle
// and V2 four 128-bit ones, 4 cycles each, so 8 (V1) or 16 (V2) chains keep every pipe
// busy; SDOT and SMMLA take 3-4 cycles there (Arm's software optimisation guides). SVE
// vectors are sizeless (no arrays of them), so the chains are named one by one.
#include <arm_sve.h>

#include <cstdint>

#include "kernels/cpu/peak.hpp"
#include "kernels/cpu/peak_impl.hpp"

#define ROOFAUDIT_SVE __attribute__((target("arch=armv8.2-a+sve")))
#define ROOFAUDIT_SVE_I8MM __attribute__((target("arch=armv8.2-a+sve+i8mm")))
#define ROOFAUDIT_SVE_BF16 __attribute__((target("arch=armv8.2-a+sve+bf16")))

// X(c) for each of the 16 chains.
#define ROOFAUDIT_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

namespace roofaudit::kernels::sve_peak {
using peak_detail::opaque;

constexpr int kChains = 16;

// Sum of the chains' starting values (chain c, lane l starts at c + l) plus the gain.
inline double expected_lanes(std::size_t lanes, double per_lane, std::size_t iterations) {
  double start = 0;
  for (int c = 0; c < kChains; ++c)
    for (std::size_t l = 0; l < lanes; ++l) start += double(c) + double(l);
  return start + double(kChains) * double(lanes) * per_lane * double(iterations);
}

// One kernel: declare the chains from `init(c)`, run `step` on each per iteration, then sum
// every lane with `reduce` (exact: the lanes hold small integers).
#define ROOFAUDIT_DECLARE(c) auto acc##c = init(c);
#define ROOFAUDIT_STEP(c) acc##c = step(acc##c);
#define ROOFAUDIT_REDUCE(c) sum += reduce(acc##c);
#define ROOFAUDIT_RUN_CHAINS                        \
  ROOFAUDIT_CHAINS(ROOFAUDIT_DECLARE)               \
  for (std::size_t i = 0; i < iterations; ++i) {    \
    ROOFAUDIT_CHAINS(ROOFAUDIT_STEP)                \
  }                                                 \
  double sum = 0;                                   \
  ROOFAUDIT_CHAINS(ROOFAUDIT_REDUCE)                \
  return sum;

ROOFAUDIT_SVE double fp64_fma(std::size_t iterations) {
  const svbool_t all = svptrue_b64();
  auto init = [&](int c) ROOFAUDIT_SVE { return svcvt_f64_s64_x(all, svindex_s64(c, 1)); };
  svfloat64_t one = svdup_f64(1.0);
  const svfloat64_t inc = one;
  opaque(one);
  auto step = [&](svfloat64_t a) ROOFAUDIT_SVE { return svmad_f64_x(all, a, one, inc); };
  auto reduce = [&](svfloat64_t a) ROOFAUDIT_SVE { return svaddv_f64(all, a); };
  ROOFAUDIT_RUN_CHAINS
}
ROOFAUDIT_SVE double fp64_expected(std::size_t iterations) { return expected_lanes(svcntd(), 1, iterations); }

ROOFAUDIT_SVE double fp32_fma(std::size_t iterations) {
  const svbool_t all = svptrue_b32();
  auto init = [&](int c) ROOFAUDIT_SVE { return svcvt_f32_s32_x(all, svindex_s32(c, 1)); };
  svfloat32_t one = svdup_f32(1.0f);
  const svfloat32_t inc = one;
  opaque(one);
  auto step = [&](svfloat32_t a) ROOFAUDIT_SVE { return svmad_f32_x(all, a, one, inc); };
  auto reduce = [&](svfloat32_t a) ROOFAUDIT_SVE { return double(svaddv_f32(all, a)); };
  ROOFAUDIT_RUN_CHAINS
}
ROOFAUDIT_SVE double fp32_expected(std::size_t iterations) { return expected_lanes(svcntw(), 1, iterations); }

// Every int32 lane's sum, widened to 64 bits first (no overflow in the reduction).
ROOFAUDIT_SVE inline double sum_i32(svint32_t a) { return double(svaddv_s32(svptrue_b32(), a)); }

// SDOT: each int32 lane gains four s8 x s8 products, 1 * 1 each.
ROOFAUDIT_SVE double int8_sdot(std::size_t iterations) {
  auto init = [&](int c) ROOFAUDIT_SVE { return svindex_s32(c, 1); };
  svint8_t a = svdup_s8(1), b = svdup_s8(1);
  opaque(a);
  opaque(b);
  auto step = [&](svint32_t x) ROOFAUDIT_SVE { return svdot_s32(x, a, b); };
  auto reduce = [&](svint32_t x) ROOFAUDIT_SVE { return sum_i32(x); };
  ROOFAUDIT_RUN_CHAINS
}
ROOFAUDIT_SVE double int8_dot_expected(std::size_t iterations) { return expected_lanes(svcntw(), 4, iterations); }

// SMMLA: per 128-bit segment a 2 x 8 by 8 x 2 int8 product into 2 x 2 int32: eight
// products per lane.
ROOFAUDIT_SVE_I8MM double int8_smmla(std::size_t iterations) {
  auto init = [&](int c) ROOFAUDIT_SVE { return svindex_s32(c, 1); };
  svint8_t a = svdup_s8(1), b = svdup_s8(1);
  opaque(a);
  opaque(b);
  auto step = [&](svint32_t x) ROOFAUDIT_SVE_I8MM { return svmmla_s32(x, a, b); };
  auto reduce = [&](svint32_t x) ROOFAUDIT_SVE { return sum_i32(x); };
  ROOFAUDIT_RUN_CHAINS
}
ROOFAUDIT_SVE double int8_mmla_expected(std::size_t iterations) { return expected_lanes(svcntw(), 8, iterations); }

// bf16 1.0 in every lane, made from integers (a folded constant could need FP16).
ROOFAUDIT_SVE_BF16 inline svbfloat16_t bf16_ones() {
  svuint16_t bits = svdup_u16(0x3f80);
  opaque(bits);
  return svreinterpret_bf16_u16(bits);
}

// BFDOT: each fp32 lane gains a pair of bf16 products.
ROOFAUDIT_SVE_BF16 double bf16_bfdot(std::size_t iterations) {
  const svbool_t all = svptrue_b32();
  auto init = [&](int c) ROOFAUDIT_SVE { return svcvt_f32_s32_x(all, svindex_s32(c, 1)); };
  svbfloat16_t a = bf16_ones(), b = bf16_ones();
  opaque(a);
  opaque(b);
  auto step = [&](svfloat32_t x) ROOFAUDIT_SVE_BF16 { return svbfdot_f32(x, a, b); };
  auto reduce = [&](svfloat32_t x) ROOFAUDIT_SVE { return double(svaddv_f32(all, x)); };
  ROOFAUDIT_RUN_CHAINS
}
ROOFAUDIT_SVE double bf16_dot_expected(std::size_t iterations) { return expected_lanes(svcntw(), 2, iterations); }

// BFMMLA: per 128-bit segment a 2 x 4 by 4 x 2 bf16 product into 2 x 2 fp32: four
// products per lane.
ROOFAUDIT_SVE_BF16 double bf16_bfmmla(std::size_t iterations) {
  const svbool_t all = svptrue_b32();
  auto init = [&](int c) ROOFAUDIT_SVE { return svcvt_f32_s32_x(all, svindex_s32(c, 1)); };
  svbfloat16_t a = bf16_ones(), b = bf16_ones();
  opaque(a);
  opaque(b);
  auto step = [&](svfloat32_t x) ROOFAUDIT_SVE_BF16 { return svbfmmla_f32(x, a, b); };
  auto reduce = [&](svfloat32_t x) ROOFAUDIT_SVE { return double(svaddv_f32(all, x)); };
  ROOFAUDIT_RUN_CHAINS
}
ROOFAUDIT_SVE double bf16_mmla_expected(std::size_t iterations) { return expected_lanes(svcntw(), 4, iterations); }

}  // namespace roofaudit::kernels::sve_peak
