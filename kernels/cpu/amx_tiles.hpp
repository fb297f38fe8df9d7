#pragma once
// Internal to kernels/cpu: the AMX tile configuration both tile users load. Included after
// the including file's #pragma GCC target("amx-tile,...").
#include <immintrin.h>

#include <cstdint>

namespace roofaudit::kernels::amx {

struct TileConfig {
  std::uint8_t palette = 1, start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// Tiles 0-7 as 16 rows of 64 bytes: 0-3 the accumulators (16 x 16 of 4 bytes), 4-7 sources.
inline void configure_16x64() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  _tile_loadconfig(&cfg);
}

// The 2 x 2 block of tile products both users issue: accumulators 0-3 gain sources
// (4, 5) x (6, 7). bf16: tdpbf16ps; u8s8: tdpbusd (activations unsigned, as the VNNI
// kernels pack them); s8s8: tdpbssd.
enum class Dot { bf16, u8s8, s8s8 };
template <Dot kDot>
inline void dot_2x2() {
  if constexpr (kDot == Dot::bf16) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  } else if constexpr (kDot == Dot::u8s8) {
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  } else {
    _tile_dpbssd(0, 4, 6);
    _tile_dpbssd(1, 4, 7);
    _tile_dpbssd(2, 5, 6);
    _tile_dpbssd(3, 5, 7);
  }
}

}  // namespace roofaudit::kernels::amx
