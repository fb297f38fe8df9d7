// The AMX tile products (Sapphire Rapids and later): tdpbusd (u8 x s8 -> s32) and
// tdpbf16ps (bf16 x bf16 -> fp32) on 16 x 16 output tiles. The weights are read straight
// from the AVX512_VNNI kernels' packing: a panel of 32 rows keeps, per k-group, the 4
// bytes of each row in turn, so 16 k-groups of 16 rows are one 16 x 64-byte B tile with a
// row stride of 128 bytes (its other 16 rows the next 64 bytes). The activations are
// copied per call into 32-vector blocks zero-padded past the batch (A tiles read 16 whole
// rows).
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/cpu/lowp_amx.hpp"

#pragma GCC push_options
#pragma GCC target("amx-tile,amx-int8,amx-bf16")
#include "kernels/cpu/amx_tiles.hpp"

namespace roofaudit::kernels::lowp {
namespace {

constexpr std::size_t kPanelRows = 32;  // the VNNI packing's panel (lowp_tiles.hpp kTileCols)
constexpr std::size_t kVectors = 32;    // activation vectors per block: two A tiles
constexpr std::size_t kStepGroups = 16; // k-groups per tile step (64 bytes of a row)

// Activations as A-tile rows: batch rounded up to kVectors, k bytes per row (a multiple of
// 64), zero past the batch; `flip` XORs every byte (0x80: signed to unsigned offset by 128).
template <typename T>
const T* pad_activations(const T* x, std::size_t batch, std::size_t k, T flip) {
  const std::size_t padded = (batch + kVectors - 1) / kVectors * kVectors;
  thread_local ScratchBuffer buffer;
  T* out = static_cast<T*>(buffer.get(padded * k * sizeof(T)));
  for (std::size_t b = 0; b < padded; ++b)
    for (std::size_t i = 0; i < k; ++i) out[b * k + i] = b < batch ? T(x[b * k + i] ^ flip) : T(0);
  return out;
}

// Every thread takes whole weight panels; per panel, every 32-vector block runs the k
// steps on four C tiles, then `finish(b, r, value)` writes the block's results.
template <typename Acc, bool kBf16, typename XT, typename Finish>
void run(const std::uint32_t* w, std::size_t rows, std::size_t groups, const XT* xp, std::size_t batch,
         const Finish& finish, int threads) {
  const std::size_t panels = (rows + kPanelRows - 1) / kPanelRows, blocks = (batch + kVectors - 1) / kVectors;
  const std::size_t x_stride = groups * 4;  // bytes per activation row
#pragma omp parallel num_threads(threads)
  {
    amx::configure_16x64();
    alignas(64) Acc c[4][16 * 16];
#pragma omp for schedule(static)
    for (std::size_t jp = 0; jp < panels; ++jp) {
      const auto* panel = reinterpret_cast<const char*>(w + jp * groups * kPanelRows);
      for (std::size_t vb = 0; vb < blocks; ++vb) {
        const auto* a = reinterpret_cast<const char*>(xp) + vb * kVectors * x_stride;
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (std::size_t q = 0; q < groups; q += kStepGroups) {
          _tile_loadd(6, panel + q * kPanelRows * 4, kPanelRows * 4);
          _tile_loadd(7, panel + q * kPanelRows * 4 + 64, kPanelRows * 4);
          _tile_loadd(4, a + q * 4, x_stride);
          _tile_loadd(5, a + 16 * x_stride + q * 4, x_stride);
          amx::dot_2x2<kBf16 ? amx::Dot::bf16 : amx::Dot::u8s8>();
        }
        _tile_stored(0, c[0], 64);
        _tile_stored(1, c[1], 64);
        _tile_stored(2, c[2], 64);
        _tile_stored(3, c[3], 64);
        // c[2 * vh + ch][i * 16 + j]: vector vb * 32 + vh * 16 + i, row jp * 32 + ch * 16 + j.
        for (std::size_t t = 0; t < 4; ++t)
          for (std::size_t i = 0; i < 16; ++i) {
            const std::size_t b = vb * kVectors + (t / 2) * 16 + i;
            if (b >= batch) break;
            for (std::size_t j = 0; j < 16; ++j) {
              const std::size_t r = jp * kPanelRows + (t % 2) * 16 + j;
              if (r < rows) finish(b, r, c[t][i * 16 + j]);
            }
          }
      }
    }
    _tile_release();
  }
}

}  // namespace

bool amx_permitted() {
  // Linux hands out the 8 KiB of tile state only on request (arch_prctl
  // ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA, since 5.16); without it the first tile
  // instruction faults.
  static const bool ok = syscall(SYS_arch_prctl, 0x1023, 18) == 0;
  return ok;
}

bool amx_shape_ok(std::size_t k, std::size_t batch, bool bf16) {
  return batch >= 16 && k % (bf16 ? 32 : 64) == 0;
}

void amx_int8(const std::uint32_t* w, std::size_t rows, std::size_t k, const void* x, bool x_unsigned,
              std::size_t batch, const Int8Out& out, int threads) {
  const std::uint8_t* xp = pad_activations(static_cast<const std::uint8_t*>(x), batch, k,
                                           std::uint8_t(x_unsigned ? 0 : 0x80));
  const bool offset = !x_unsigned;  // x + 128 ran: the row sums take the offset back out
  if (out.y)
    run<std::int32_t, false>(
        w, rows, k / 4, xp, batch,
        [&](std::size_t b, std::size_t r, std::int32_t dot) {
          out.y[b * out.ld + r] = float(offset ? dot - 128 * out.row_sum[r] : dot) *
                                  (out.row_scale ? out.row_scale[r] : 1.0f) * (out.x_scale ? out.x_scale[b] : 1.0f);
        },
        threads);
  else
    run<std::int32_t, false>(
        w, rows, k / 4, xp, batch,
        [&](std::size_t b, std::size_t r, std::int32_t dot) {
          out.c[b * out.ld + r] = offset ? dot - 128 * out.row_sum[r] : dot;
        },
        threads);
}

void amx_bf16(const std::uint32_t* w, std::size_t rows, std::size_t k, const std::uint16_t* x, std::size_t batch,
              float* y, std::size_t ldy, int threads) {
  const std::uint16_t* xp = pad_activations(x, batch, k, std::uint16_t(0));
  run<float, true>(
      w, rows, k / 2, xp, batch, [&](std::size_t b, std::size_t r, float dot) { y[b * ldy + r] = dot; }, threads);
}

}  // namespace roofaudit::kernels::lowp

#pragma GCC pop_options
