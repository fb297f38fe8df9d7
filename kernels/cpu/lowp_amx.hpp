#pragma once
// Internal to kernels/cpu: the AMX tile products (lowp_amx.cpp). The weights are the
// AVX512_VNNI packing (lowp_tiles.hpp: panels of 32 rows, 4-byte k-groups).
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/lowp_wide.hpp"

namespace roofaudit::kernels::lowp {

// Whether Linux granted this process the tile state (asked once).
bool amx_permitted();
// Shapes the tile path takes: more than 4 vectors (zero-padded to 32; from 5 on, the
// padded tiles were faster than the vector tiles: bf16 at B = 8 12.7 against 21 ms a
// 16384 x 8192 step, int8 6.4 against 7.8), and k in whole tile steps (64 int8 or 32
// bf16); others run the AVX512_VNNI / AVX512_BF16 tiles.
bool amx_shape_ok(std::size_t k, std::size_t batch, bool bf16);
// x: batch x k, int8 (x_unsigned: uint8); out as Int8Out (row_sum used for signed x).
void amx_int8(const std::uint32_t* w, std::size_t rows, std::size_t k, const void* x, bool x_unsigned,
              std::size_t batch, const Int8Out& out, int threads);
void amx_bf16(const std::uint32_t* w, std::size_t rows, std::size_t k, const std::uint16_t* x, std::size_t batch,
              float* y, std::size_t ldy, int threads);

}  // namespace roofaudit::kernels::lowp
