#include "kernels/cpu/peak.hpp"

namespace roofaudit::kernels {

namespace avx512_peak {
double fp64_fma(std::size_t), fp64_expected(std::size_t), fp32_fma(std::size_t), fp32_expected(std::size_t);
double bf16_dot(std::size_t), bf16_expected(std::size_t), int8_dot(std::size_t), int8_expected(std::size_t);
}  // namespace avx512_peak
namespace avx2_peak {
double fp64_fma(std::size_t), fp64_expected(std::size_t), fp32_fma(std::size_t), fp32_expected(std::size_t);
double int8_dot(std::size_t), int8_expected(std::size_t);
}  // namespace avx2_peak
namespace generic_peak {
double fp64(std::size_t), fp32(std::size_t), expected(std::size_t);
}  // namespace generic_peak

namespace {

struct Cpu {
  bool avx512, avx512_bf16, avx512_vnni, avx2_fma, avx_vnni;
};

Cpu detect(const std::string& max_isa) {
  __builtin_cpu_init();
  const bool allow512 = max_isa.empty() || max_isa == "avx512";
  const bool allow256 = allow512 || max_isa == "avx2";
  Cpu c{};
  c.avx512 = allow512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512bw");
  c.avx512_bf16 = c.avx512 && __builtin_cpu_supports("avx512bf16");
  c.avx512_vnni = c.avx512 && __builtin_cpu_supports("avx512vnni");
  c.avx2_fma = allow256 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  c.avx_vnni = c.avx2_fma && __builtin_cpu_supports("avxvnni");
  return c;
}

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

std::vector<PeakKernel> peak_kernels(const std::string& max_isa) {
  const Cpu c = detect(max_isa);
  std::vector<PeakKernel> k;
  if (c.avx512) {
    k.push_back({Precision::fp64, "avx512", "vfmadd231pd zmm", 16 * 8 * 2, avx512_peak::fp64_fma, avx512_peak::fp64_expected, kPlenty});
    k.push_back({Precision::fp32, "avx512", "vfmadd231ps zmm", 16 * 16 * 2, avx512_peak::fp32_fma, avx512_peak::fp32_expected, kExactFp32});
  } else if (c.avx2_fma) {
    k.push_back({Precision::fp64, "avx2", "vfmadd231pd ymm", 12 * 4 * 2, avx2_peak::fp64_fma, avx2_peak::fp64_expected, kPlenty});
    k.push_back({Precision::fp32, "avx2", "vfmadd231ps ymm", 12 * 8 * 2, avx2_peak::fp32_fma, avx2_peak::fp32_expected, kExactFp32});
  } else {
    k.push_back({Precision::fp64, "generic", "mulsd + addsd", 8 * 2, generic_peak::fp64, generic_peak::expected, kPlenty});
    k.push_back({Precision::fp32, "generic", "mulss + addss", 8 * 2, generic_peak::fp32, generic_peak::expected, kExactFp32});
  }
  // Each vdpbf16ps lane does two multiplies and two adds; each vpdpbusd lane four of each.
  if (c.avx512_bf16)
    k.push_back({Precision::bf16, "avx512", "vdpbf16ps zmm", 16 * 16 * 4, avx512_peak::bf16_dot, avx512_peak::bf16_expected, kExactBf16Dot});
  if (c.avx512_vnni)
    k.push_back({Precision::int8, "avx512", "vpdpbusd zmm", 16 * 16 * 8, avx512_peak::int8_dot, avx512_peak::int8_expected, kExactInt32});
  else if (c.avx_vnni)
    k.push_back({Precision::int8, "avx2", "vpdpbusd ymm (AVX-VNNI)", 12 * 8 * 8, avx2_peak::int8_dot, avx2_peak::int8_expected, kExactInt32});
  return k;
}

std::string peak_unsupported_reason(Precision p, const std::string& max_isa) {
  const Cpu c = detect(max_isa);
  switch (p) {
    case Precision::bf16:
      return c.avx512_bf16 ? "" : "the CPU (or the ISA cap) lacks AVX512_BF16 (vdpbf16ps)";
    case Precision::int8:
      return c.avx512_vnni || c.avx_vnni ? "" : "the CPU (or the ISA cap) lacks AVX512_VNNI and AVX-VNNI (vpdpbusd)";
    default:
      return "";
  }
}

}  // namespace roofaudit::kernels
