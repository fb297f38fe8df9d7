#pragma once
// Internal to kernels/cpu: the AVX-512 dot-product register tiles (gemm_lowp_avx512.cpp)
// as the decode kernels use them. Operands are packed in 32-bit k-groups (4 int8 or
// 2 bf16): weights in panels of kTileCols rows (for every k-group, the group of each
// of the panel's rows in turn), activations in panels of kTileRows vectors.
#include <cstddef>
#include <cstdint>

namespace roofaudit::kernels::lowp {

constexpr std::size_t kTileRows = 8;   // activation vectors per register tile
constexpr std::size_t kTileCols = 32;  // weight rows per register tile: two 16-lane vectors

// y[b * rows + r] = x_scale[b] * row_scale[r] * (x[b] . w[r]) for b < batch, r < rows.
// x: batch x k signed int8, row-major; row_sum[r]: the sum of row r's weights (the dot
// product runs on x + 128 as unsigned bytes, and this takes the offset back out).
void decode_tiles_int8(const std::uint32_t* w, std::size_t rows, std::size_t k, const std::int32_t* row_sum,
                       const float* row_scale, const std::int8_t* x, const float* x_scale, std::size_t batch,
                       float* y, int threads);
// y[b * rows + r] = x[b] . w[r], bf16 products summed in fp32.
void decode_tiles_bf16(const std::uint32_t* w, std::size_t rows, std::size_t k, const std::uint16_t* x,
                       std::size_t batch, float* y, int threads);

}  // namespace roofaudit::kernels::lowp
