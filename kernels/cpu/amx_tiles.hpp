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

}  // namespace roofaudit::kernels::amx
