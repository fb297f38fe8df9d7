#pragma once
// roofaudit's own low-precision GEMM, for the precisions the system BLAS lacks:
//   bf16: C (fp32) = A (bf16) x B (bf16), with vdpbf16ps (AVX512_BF16)
//   int8: C (int32) = A (u8) x B (s8), with vpdpbusd (AVX512_VNNI)
// Row-major A (m x k), B (k x n), C (m x n). Both pack A and B into panels of 4-byte
// k-groups (2 bf16 or 4 int8), so one packing serves both, and run an 8 x 32 register
// tile: 16 accumulators, two B vectors and one broadcast A group per step.
#include <cstddef>
#include <cstdint>

namespace roofaudit::kernels {

bool lowp_gemm_supported_bf16();
bool lowp_gemm_supported_int8();

// `threads` OpenMP threads split the columns. Any m, n, k >= 1.
void gemm_bf16(const std::uint16_t* a, const std::uint16_t* b, float* c, std::size_t m, std::size_t n, std::size_t k,
               int threads);
void gemm_int8(const std::uint8_t* a, const std::int8_t* b, std::int32_t* c, std::size_t m, std::size_t n,
               std::size_t k, int threads);

// fp32 -> bf16 by truncation (exact for the small integers the probes and tests use).
inline std::uint16_t to_bf16(float f) {
  std::uint32_t bits;
  __builtin_memcpy(&bits, &f, 4);
  return std::uint16_t(bits >> 16);
}

}  // namespace roofaudit::kernels
