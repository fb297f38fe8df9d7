// Peak kernels on the AMX tile units (Sapphire Rapids and later): tdpbssd (int8) and
// tdpbf16ps (bf16) into four independent 16 x 16 accumulator tiles from four source
// tiles, so consecutive instructions never wait for each other's result.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/lowp_amx.hpp"
#include "kernels/cpu/peak.hpp"

// The tile instructions are only reached where peak_kernels() found AMX and the kernel
// granted the tile state.
#pragma GCC target("amx-tile,amx-int8,amx-bf16")
#include "kernels/cpu/amx_tiles.hpp"

namespace roofaudit::kernels::amx_peak {
namespace {

template <typename Lane>
double sum_accumulators() {
  alignas(64) Lane out[4][16 * 16];
  _tile_stored(0, out[0], 64);
  _tile_stored(1, out[1], 64);
  _tile_stored(2, out[2], 64);
  _tile_stored(3, out[3], 64);
  double sum = 0;
  for (const auto& tile : out)
    for (Lane v : tile) sum += double(v);
  return sum;
}

void load_sources(const void* ones) {
  _tile_loadd(4, ones, 64);
  _tile_loadd(5, ones, 64);
  _tile_loadd(6, ones, 64);
  _tile_loadd(7, ones, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
}

}  // namespace

// Four dot products per iteration from sources of ones: each element of a tile gains 64
// products of 1 x 1 per tdpbssd (int8), 32 per tdpbf16ps (bf16 1.0 = 0x3f80).
template <bool kBf16>
double tile_chains(std::size_t iterations) {
  alignas(64) std::uint16_t ones[16 * 32];
  for (auto& v : ones) v = kBf16 ? 0x3f80 : 0x0101;
  amx::configure_16x64();
  load_sources(ones);
  for (std::size_t i = 0; i < iterations; ++i) amx::dot_2x2<kBf16 ? amx::Dot::bf16 : amx::Dot::s8s8>();
  const double sum = kBf16 ? sum_accumulators<float>() : sum_accumulators<std::int32_t>();
  _tile_release();
  return sum;
}

double int8_dot(std::size_t iterations) { return tile_chains<false>(iterations); }
double int8_expected(std::size_t iterations) { return 4.0 * 256 * 64 * double(iterations); }
double bf16_dot(std::size_t iterations) { return tile_chains<true>(iterations); }
double bf16_expected(std::size_t iterations) { return 4.0 * 256 * 32 * double(iterations); }

}  // namespace roofaudit::kernels::amx_peak
