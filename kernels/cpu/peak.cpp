#include "kernels/cpu/peak.hpp"

#include <string>

#include "kernels/cpu/lowp_amx.hpp"

namespace roofaudit::kernels {

#if ROOFAUDIT_X86
namespace avx512_peak {
double fp64_fma(std::size_t), fp64_expected(std::size_t), fp32_fma(std::size_t), fp32_expected(std::size_t);
double bf16_dot(std::size_t), bf16_expected(std::size_t), int8_dot(std::size_t), int8_expected(std::size_t);
double int8_madd(std::size_t), int8_madd_expected(std::size_t), int8_maddubs(std::size_t), int8_maddubs_expected(std::size_t);
double bf16_widened(std::size_t);
}  // namespace avx512_peak
namespace avx2_peak {
double fp64_fma(std::size_t), fp64_expected(std::size_t), fp32_fma(std::size_t), fp32_expected(std::size_t);
double int8_dot(std::size_t), int8_expected(std::size_t);
double int8_madd(std::size_t), int8_madd_expected(std::size_t), int8_maddubs(std::size_t), int8_maddubs_expected(std::size_t);
double bf16_widened(std::size_t);
}  // namespace avx2_peak
namespace amx_peak {
double int8_dot(std::size_t), int8_expected(std::size_t), bf16_dot(std::size_t), bf16_expected(std::size_t);
}  // namespace amx_peak
#else
namespace neon_peak {
double fp64_fma(std::size_t), fp64_expected(std::size_t), fp32_fma(std::size_t), fp32_expected(std::size_t);
double int8_widened(std::size_t), int8_widened_expected(std::size_t), bf16_widened(std::size_t);
double int8_sdot(std::size_t), int8_usdot(std::size_t), int8_dot_expected(std::size_t);
double int8_smmla(std::size_t), int8_mmla_expected(std::size_t);
double bf16_bfdot(std::size_t), bf16_dot_expected(std::size_t), bf16_bfmmla(std::size_t), bf16_mmla_expected(std::size_t);
}  // namespace neon_peak
namespace sve_peak {
double fp64_fma(std::size_t), fp64_expected(std::size_t), fp32_fma(std::size_t), fp32_expected(std::size_t);
double int8_sdot(std::size_t), int8_dot_expected(std::size_t), int8_smmla(std::size_t), int8_mmla_expected(std::size_t);
double bf16_bfdot(std::size_t), bf16_dot_expected(std::size_t), bf16_bfmmla(std::size_t), bf16_mmla_expected(std::size_t);
}  // namespace sve_peak
#endif
namespace generic_peak {
double fp64(std::size_t), fp32(std::size_t), int32(std::size_t), expected(std::size_t);
}  // namespace generic_peak

namespace {

constexpr std::size_t kExactFp32 = (std::size_t{1} << 24) - 64;  // 24-bit mantissa
constexpr std::size_t kExactBf16Dot = ((std::size_t{1} << 24) - 64) / 2;  // +2 per iteration
constexpr std::size_t kExactInt32 = ((std::size_t{1} << 31) - 64) / 4;
constexpr std::size_t kPlenty = std::size_t{1} << 40;

}  // namespace

std::string precision_name(Precision p) {
  switch (p) {
    case Precision::fp64: return "fp64";
    case Precision::fp32: return "fp32";
    case Precision::bf16: return "bf16";
    case Precision::int8: return "int8";
  }
  return "?";
}

#if ROOFAUDIT_X86
// Operations per iteration: chains x lanes x (2 per FMA lane; 4 per vdpbf16ps lane; 8 per
// vpdpbusd or vpmaddubsw + vpmaddwd lane; 4 per vpmaddwd lane).
std::vector<PeakKernel> peak_kernels(const CpuFeatures& c) {
  using P = Precision;
  std::vector<PeakKernel> k;
  // AMX: per instruction a 16 x 16 tile gains 16 x 16 x 64 int8 (or x 32 bf16) products.
  if (c.amx_int8 && lowp::amx_permitted())
    k.push_back({P::int8, "amx", "tdpbssd (AMX-INT8) 16x16x64", 4 * 16 * 16 * 64 * 2, amx_peak::int8_dot, amx_peak::int8_expected, ((std::size_t{1} << 31) - 1) / 64});
  if (c.amx_bf16 && lowp::amx_permitted())
    k.push_back({P::bf16, "amx", "tdpbf16ps (AMX-BF16) 16x16x32", 4 * 16 * 16 * 32 * 2, amx_peak::bf16_dot, amx_peak::bf16_expected, (std::size_t{1} << 24) / 32});
  if (c.avx512) {
    k.push_back({P::fp64, "avx512", "vfmadd231pd zmm", 16 * 8 * 2, avx512_peak::fp64_fma, avx512_peak::fp64_expected, kPlenty});
    k.push_back({P::fp32, "avx512", "vfmadd231ps zmm", 16 * 16 * 2, avx512_peak::fp32_fma, avx512_peak::fp32_expected, kExactFp32});
    if (c.avx512_bf16)
      k.push_back({P::bf16, "avx512-bf16", "vdpbf16ps zmm", 16 * 16 * 4, avx512_peak::bf16_dot, avx512_peak::bf16_expected, kExactBf16Dot});
    k.push_back({P::bf16, "avx512", "bf16 widened (vpslld/vpandd), vfmadd231ps zmm", 16 * 16 * 2, avx512_peak::bf16_widened, avx512_peak::fp32_expected, kExactFp32});
    if (c.avx512_vnni)
      k.push_back({P::int8, "avx512-vnni", "vpdpbusd zmm", 16 * 16 * 8, avx512_peak::int8_dot, avx512_peak::int8_expected, kExactInt32});
    k.push_back({P::int8, "avx512", "vpmaddubsw + vpmaddwd + vpaddd zmm", 12 * 16 * 8, avx512_peak::int8_maddubs, avx512_peak::int8_maddubs_expected, kExactInt32});
    k.push_back({P::int8, "avx512", "vpmaddwd + vpaddd zmm", 12 * 16 * 4, avx512_peak::int8_madd, avx512_peak::int8_madd_expected, kExactInt32 * 2});
  }
  if (c.avx2) {
    k.push_back({P::fp64, "avx2", "vfmadd231pd ymm", 12 * 4 * 2, avx2_peak::fp64_fma, avx2_peak::fp64_expected, kPlenty});
    k.push_back({P::fp32, "avx2", "vfmadd231ps ymm", 12 * 8 * 2, avx2_peak::fp32_fma, avx2_peak::fp32_expected, kExactFp32});
    k.push_back({P::bf16, "avx2", "bf16 widened (vpslld/vpand), vfmadd231ps ymm", 12 * 8 * 2, avx2_peak::bf16_widened, avx2_peak::fp32_expected, kExactFp32});
    if (c.avx_vnni)
      k.push_back({P::int8, "avx-vnni", "vpdpbusd ymm (AVX-VNNI)", 12 * 8 * 8, avx2_peak::int8_dot, avx2_peak::int8_expected, kExactInt32});
    k.push_back({P::int8, "avx2", "vpmaddubsw + vpmaddwd + vpaddd ymm", 6 * 8 * 8, avx2_peak::int8_maddubs, avx2_peak::int8_maddubs_expected, kExactInt32});
    k.push_back({P::int8, "avx2", "vpmaddwd + vpaddd ymm", 6 * 8 * 4, avx2_peak::int8_madd, avx2_peak::int8_madd_expected, kExactInt32 * 2});
  }
  if (!c.avx2) {  // scalar only where no vector path exists: with one, it is never the peak
    k.push_back({P::fp64, "generic", "mulsd + addsd", 8 * 2, generic_peak::fp64, generic_peak::expected, kPlenty});
    k.push_back({P::fp32, "generic", "mulss + addss", 8 * 2, generic_peak::fp32, generic_peak::expected, kExactFp32});
    k.push_back({P::bf16, "generic", "bf16 widened, mulss + addss", 8 * 2, generic_peak::fp32, generic_peak::expected, kExactFp32});
    k.push_back({P::int8, "generic", "imul + add (int32)", 8 * 2, generic_peak::int32, generic_peak::expected, kExactInt32 * 4});
  }
  return k;
}
#else
// Operations per iteration: chains x 32-bit lanes x (2 per FMA lane, 8 per SDOT/USDOT lane,
// 16 per SMMLA lane, 4 per BFDOT lane, 8 per BFMMLA lane); fp64 has half the lanes.
std::vector<PeakKernel> peak_kernels(const CpuFeatures& c) {
  using P = Precision;
  std::vector<PeakKernel> k;
  if (c.sve) {
    const double chains = 16, lanes = c.sve_bits / 32.0;
    const std::string w = " z (" + std::to_string(c.sve_bits) + "-bit SVE)";
    k.push_back({P::fp64, "sve", "fmla .d" + w, chains * lanes, sve_peak::fp64_fma, sve_peak::fp64_expected, kPlenty});
    k.push_back({P::fp32, "sve", "fmla .s" + w, chains * lanes * 2, sve_peak::fp32_fma, sve_peak::fp32_expected, kExactFp32});
    k.push_back({P::int8, "sve", "sdot .s" + w, chains * lanes * 8, sve_peak::int8_sdot, sve_peak::int8_dot_expected, kExactInt32});
    if (c.i8mm)
      k.push_back({P::int8, "sve", "smmla .s" + w, chains * lanes * 16, sve_peak::int8_smmla, sve_peak::int8_mmla_expected, kExactInt32 / 2});
    if (c.bf16) {
      k.push_back({P::bf16, "sve", "bfdot .s" + w, chains * lanes * 4, sve_peak::bf16_bfdot, sve_peak::bf16_dot_expected, kExactBf16Dot});
      k.push_back({P::bf16, "sve", "bfmmla .s" + w, chains * lanes * 8, sve_peak::bf16_bfmmla, sve_peak::bf16_mmla_expected, kExactBf16Dot / 2});
    }
  }
  if (c.neon) {
    constexpr double chains = 20, lanes = 4;
    k.push_back({P::fp64, "neon", "fmla v.2d", chains * 2 * 2, neon_peak::fp64_fma, neon_peak::fp64_expected, kPlenty});
    k.push_back({P::fp32, "neon", "fmla v.4s", chains * lanes * 2, neon_peak::fp32_fma, neon_peak::fp32_expected, kExactFp32});
    if (c.i8mm) {
      k.push_back({P::int8, "i8mm", "smmla v.4s", chains * lanes * 16, neon_peak::int8_smmla, neon_peak::int8_mmla_expected, kExactInt32 / 2});
      k.push_back({P::int8, "i8mm", "usdot v.4s", chains * lanes * 8, neon_peak::int8_usdot, neon_peak::int8_dot_expected, kExactInt32});
    }
    if (c.dotprod)
      k.push_back({P::int8, "dotprod", "sdot v.4s", chains * lanes * 8, neon_peak::int8_sdot, neon_peak::int8_dot_expected, kExactInt32});
    k.push_back({P::int8, "neon", "sxtl + smlal v.4s", chains * lanes * 2, neon_peak::int8_widened, neon_peak::int8_widened_expected, kExactInt32 * 4});
    if (c.bf16) {
      k.push_back({P::bf16, "i8mm", "bfmmla v.4s", chains * lanes * 8, neon_peak::bf16_bfmmla, neon_peak::bf16_mmla_expected, kExactBf16Dot / 2});
      k.push_back({P::bf16, "i8mm", "bfdot v.4s", chains * lanes * 4, neon_peak::bf16_bfdot, neon_peak::bf16_dot_expected, kExactBf16Dot});
    }
    k.push_back({P::bf16, "neon", "bf16 widened (shl/and), fmla v.4s", chains * lanes * 2, neon_peak::bf16_widened, neon_peak::fp32_expected, kExactFp32});
  }
  if (!c.neon) {  // scalar only where no vector path exists
    k.push_back({P::fp64, "generic", "fmul + fadd (d)", 8 * 2, generic_peak::fp64, generic_peak::expected, kPlenty});
    k.push_back({P::fp32, "generic", "fmul + fadd (s)", 8 * 2, generic_peak::fp32, generic_peak::expected, kExactFp32});
    k.push_back({P::bf16, "generic", "bf16 widened, fmul + fadd (s)", 8 * 2, generic_peak::fp32, generic_peak::expected, kExactFp32});
    k.push_back({P::int8, "generic", "mul + add (w)", 8 * 2, generic_peak::int32, generic_peak::expected, kExactInt32 * 4});
  }
  return k;
}
#endif

}  // namespace roofaudit::kernels
