// The AMX tile products (Sapphire Rapids and later): tdpbusd (u8 x s8 -> s32) and
// tdpbf16ps (bf16 x bf16 -> fp32) on 16 x 16 output tiles. The weights are read straight
// from the AVX512_VNNI kernels' packing: a panel of 32 rows keeps, per k-group, the 4
// bytes of each row in turn, so 16 k-groups of 16 rows are one 16 x 64-byte B tile with a
// row stride of 128 bytes (its other 16 rows the next 64 bytes). The activations are
// copied per call into whole A tiles (tile_activations), zero-padded past the batch.
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <immintrin.h>

#include <algorithm>
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

// Activations as whole A tiles, each 16 rows of one 64-byte k-step stored contiguously:
// tile (vb, step, half) holds vectors vb * 32 + half * 16 .. + 15 at that step, at byte
// ((vb * steps + step) * 2 + half) * 1024. Rows laid out as given would sit k bytes
// apart, and a tile's 16 rows at a stride that is a multiple of 4 KiB all fall in one L1
// set. The batch is rounded up to kVectors with zero vectors; `flip` XORs every element
// (0x80: signed int8 to unsigned, offset by 128). k * sizeof(T) is a multiple of 64.
template <typename T>
const char* tile_activations(const T* x, std::size_t batch, std::size_t k, T flip) {
  const std::size_t blocks = (batch + kVectors - 1) / kVectors, row_bytes = k * sizeof(T), steps = row_bytes / 64;
  constexpr std::size_t kPerStep = 64 / sizeof(T);
  thread_local ScratchBuffer buffer;
  char* out = static_cast<char*>(buffer.get(blocks * kVectors * row_bytes));
  for (std::size_t b = 0; b < blocks * kVectors; ++b)
    for (std::size_t s = 0; s < steps; ++s) {
      char* dst = out + (((b / kVectors * steps + s) * 2 + b % kVectors / 16) * 16 + b % 16) * 64;
      if (b >= batch) {
        std::memset(dst, 0, 64);
        continue;
      }
      const T* src = x + b * k + s * kPerStep;
      T* row = reinterpret_cast<T*>(dst);
      for (std::size_t e = 0; e < kPerStep; ++e) row[e] = T(src[e] ^ flip);
    }
  return out;
}

// Blocked for reuse: a thread takes a group of kGroupPanels weight panels (256 rows) and
// walks k in chunks of kChunkGroups k-groups (1 KiB of an int8 row). Per chunk, each
// block of 32 activation vectors (whole tiles, see tile_activations) is multiplied with
// every panel of the group, whose chunks (32 KiB each) stay in L2 for every block; the
// four C tiles of each (block, panel) pair wait in `acc` between chunks. Every weight
// byte comes from memory once, and the activations are read once per group instead of
// once per panel. 16384 x 8192 int8 at B = 512 on 2 cores of a Sapphire Rapids VM:
// 3.3-3.4 TOP/s, against 2.1-2.5 for every block against one panel at a time over the
// whole k; bf16 1.85 against 1.2 TFLOP/s. A single block (B <= 32) runs each panel's
// whole k at once (chunks would only add the accumulators' traffic).
constexpr std::size_t kGroupPanels = 8;
constexpr std::size_t kChunkGroups = 256;

// `finish(b, r, n, values)` writes the results of vector b at rows r .. r + n - 1 (n <= 16,
// consecutive, so that the scaling vectorizes) once, after the last chunk.
template <typename Acc, bool kBf16, typename Finish>
void run(const std::uint32_t* w, std::size_t rows, std::size_t groups, const char* xt, std::size_t batch,
         const Finish& finish, int threads) {
  const std::size_t panels = (rows + kPanelRows - 1) / kPanelRows, blocks = (batch + kVectors - 1) / kVectors;
  const std::size_t panel_groups = (panels + kGroupPanels - 1) / kGroupPanels;
  const std::size_t steps = groups / kStepGroups;  // 64-byte k-steps per activation row
  const std::size_t per_thread = blocks * kGroupPanels * 4 * 256;  // four C tiles per (block, panel) pair
  // One block of vectors has nothing to share a chunk with: it runs each panel's whole k.
  const std::size_t chunk = blocks == 1 ? groups : kChunkGroups;
  // Allocated here, not inside the parallel region (a failed allocation there aborts).
  thread_local ScratchBuffer scratch;
  Acc* const all_acc = static_cast<Acc*>(scratch.get(std::size_t(threads) * per_thread * sizeof(Acc)));
#pragma omp parallel num_threads(threads)
  {
    amx::configure_16x64();
    Acc* const acc = all_acc + std::size_t(omp_get_thread_num()) * per_thread;
#pragma omp for schedule(static)
    for (std::size_t pg = 0; pg < panel_groups; ++pg) {
      const std::size_t p0 = pg * kGroupPanels, np = std::min(kGroupPanels, panels - p0);
      for (std::size_t q0 = 0; q0 < groups; q0 += chunk) {
        const std::size_t q1 = std::min(groups, q0 + chunk);
        for (std::size_t vb = 0; vb < blocks; ++vb) {
          const char* a = xt + vb * steps * 2048;  // the block's tiles, two per step
          for (std::size_t p = 0; p < np; ++p) {
            Acc* c = acc + (vb * kGroupPanels + p) * 4 * 256;
            if (q0 == 0) {
              _tile_zero(0);
              _tile_zero(1);
              _tile_zero(2);
              _tile_zero(3);
            } else {
              _tile_loadd(0, c, 64);
              _tile_loadd(1, c + 256, 64);
              _tile_loadd(2, c + 512, 64);
              _tile_loadd(3, c + 768, 64);
            }
            const auto* panel = reinterpret_cast<const char*>(w + (p0 + p) * groups * kPanelRows);
            for (std::size_t q = q0; q < q1; q += kStepGroups) {
              _tile_loadd(6, panel + q * kPanelRows * 4, kPanelRows * 4);
              _tile_loadd(7, panel + q * kPanelRows * 4 + 64, kPanelRows * 4);
              _tile_loadd(4, a + (q / kStepGroups) * 2048, 64);
              _tile_loadd(5, a + (q / kStepGroups) * 2048 + 1024, 64);
              amx::dot_2x2<kBf16 ? amx::Dot::bf16 : amx::Dot::u8s8>();
            }
            _tile_stored(0, c, 64);
            _tile_stored(1, c + 256, 64);
            _tile_stored(2, c + 512, 64);
            _tile_stored(3, c + 768, 64);
          }
        }
      }
      // c[t][i * 16 + j] of pair (vb, p): vector vb * 32 + (t / 2) * 16 + i, row
      // (p0 + p) * 32 + (t % 2) * 16 + j.
      for (std::size_t vb = 0; vb < blocks; ++vb)
        for (std::size_t p = 0; p < np; ++p) {
          const Acc* c = acc + (vb * kGroupPanels + p) * 4 * 256;
          for (std::size_t t = 0; t < 4; ++t)
            for (std::size_t i = 0; i < 16; ++i) {
              const std::size_t b = vb * kVectors + (t / 2) * 16 + i;
              if (b >= batch) break;
              const std::size_t r = (p0 + p) * kPanelRows + (t % 2) * 16;
              if (r < rows) finish(b, r, std::min<std::size_t>(16, rows - r), c + t * 256 + i * 16);
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
  return batch > 4 && k % (bf16 ? 32 : 64) == 0;
}

void amx_int8(const std::uint32_t* w, std::size_t rows, std::size_t k, const void* x, bool x_unsigned,
              std::size_t batch, const Int8Out& out, int threads) {
  const char* xt = tile_activations(static_cast<const std::uint8_t*>(x), batch, k, std::uint8_t(x_unsigned ? 0 : 0x80));
  // x + 128 ran for signed activations: the row sums take the offset back out. The
  // output's fields are copied into the closures, so the stores cannot make them reload.
  const std::int32_t offset = x_unsigned ? 0 : 128;
  const std::int32_t* const row_sum = out.row_sum;
  const std::size_t ld = out.ld;
  if (out.y)
    run<std::int32_t, false>(
        w, rows, k / 4, xt, batch,
        [offset, row_sum, ld, y = out.y, row_scale = out.row_scale, x_scale = out.x_scale](
            std::size_t b, std::size_t r, std::size_t n, const std::int32_t* dot) {
          const float xs = x_scale ? x_scale[b] : 1.0f;
          float* out_row = y + b * ld + r;
          for (std::size_t j = 0; j < n; ++j)
            out_row[j] = float(offset ? dot[j] - offset * row_sum[r + j] : dot[j]) *
                         (row_scale ? row_scale[r + j] : 1.0f) * xs;
        },
        threads);
  else
    run<std::int32_t, false>(
        w, rows, k / 4, xt, batch,
        [offset, row_sum, ld, c = out.c](std::size_t b, std::size_t r, std::size_t n, const std::int32_t* dot) {
          for (std::size_t j = 0; j < n; ++j) c[b * ld + r + j] = offset ? dot[j] - offset * row_sum[r + j] : dot[j];
        },
        threads);
}

void amx_bf16(const std::uint32_t* w, std::size_t rows, std::size_t k, const std::uint16_t* x, std::size_t batch,
              float* y, std::size_t ldy, int threads) {
  const char* xt = tile_activations(x, batch, k, std::uint16_t(0));
  run<float, true>(
      w, rows, k / 2, xt, batch,
      [y, ldy](std::size_t b, std::size_t r, std::size_t n, const float* dot) { std::memcpy(y + b * ldy + r, dot, n * sizeof(float)); },
      threads);
}

}  // namespace roofaudit::kernels::lowp

#pragma GCC pop_options
