#pragma once
// roofaudit's own low-precision GEMM, for the precisions the system BLAS lacks:
//   bf16: C (fp32) = A (bf16) x B (bf16), products summed in fp32
//   int8: C (int32) = A (u8) x B (s8), exact
// Row-major A (m x k), B (k x n), C (m x n). Each kernel of lowp.hpp packs B into its
// panels on every call (packing is part of the cost a caller pays) and runs its tiles.
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/lowp.hpp"

namespace roofaudit::kernels {

// `threads` OpenMP threads split the columns. Any m, n, k >= 1. Throws
// std::invalid_argument when the CPU cannot run `kernel`.
void gemm_bf16(const std::uint16_t* a, const std::uint16_t* b, float* c, std::size_t m, std::size_t n, std::size_t k,
               int threads, LowpKernel kernel);
void gemm_int8(const std::uint8_t* a, const std::int8_t* b, std::int32_t* c, std::size_t m, std::size_t n,
               std::size_t k, int threads, LowpKernel kernel);


namespace lowp {
// The AVX512_VNNI / AVX512_BF16 GEMM (gemm_lowp_avx512.cpp).
void gemm_bf16_dot(const std::uint16_t* a, const std::uint16_t* b, float* c, std::size_t m, std::size_t n,
                   std::size_t k, int threads);
void gemm_int8_dot(const std::uint8_t* a, const std::int8_t* b, std::int32_t* c, std::size_t m, std::size_t n,
                   std::size_t k, int threads);
// B (k x n, row-major) in the VNNI packing those kernels and the AMX tiles read; the
// buffer is the calling thread's and is reused by its next call.
const std::uint32_t* pack_dot_int8(const std::int8_t* b, std::size_t n, std::size_t k, int threads);
const std::uint32_t* pack_dot_bf16(const std::uint16_t* b, std::size_t n, std::size_t k, int threads);
}  // namespace lowp

}  // namespace roofaudit::kernels
