#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/aligned.hpp"
#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/lowp_tiles.hpp"

namespace roofaudit::kernels {
namespace {

constexpr std::size_t kMr = lowp::kTileRows;  // rows per register tile
constexpr std::size_t kNr = lowp::kTileCols;  // columns per register tile: two 16-lane vectors
constexpr std::size_t kKc = 256;

// Packing buffers are kept per calling thread and only ever grow: a fresh 16 MiB buffer
// per call spent as long in page faults as the multiplication itself took (measured at
// n = 2048 on 2 cores: 13-25 ms per operand against 13-31 ms of arithmetic). BLAS
// libraries keep their packing buffers for the same reason.
Panel& grown(Panel& buffer, std::size_t size) {
  if (buffer.size() < size) buffer.resize(size);
  return buffer;
}

// Packs rows of A into panels of kMr rows: panel p holds, for every k-group q, the 4 bytes
// of group q of rows p*kMr .. p*kMr+7 (zero past k). Rows are read in order. Rows past
// m in the last panel are left as they were: they only feed tile rows that are never
// written back.
template <typename T>
const Panel& pack_a(const T* a, std::size_t m, std::size_t k, std::size_t group, int threads) {
  const std::size_t groups = (k + group - 1) / group, panels = (m + kMr - 1) / kMr;
  thread_local Panel buffer;
  Panel& out = grown(buffer, panels * groups * kMr);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t i = 0; i < m; ++i) {
    std::uint32_t* dst = &out[(i / kMr) * groups * kMr + i % kMr];
    const std::size_t whole = k / group;
    for (std::size_t q = 0; q < whole; ++q) std::memcpy(&dst[q * kMr], &a[i * k + q * group], 4);
    if (whole < groups) {  // the last, partial group: zero-padded
      T g[4] = {};
      for (std::size_t e = 0; whole * group + e < k; ++e) g[e] = a[i * k + whole * group + e];
      std::memcpy(&dst[whole * kMr], g, 4);
    }
  }
  return out;
}

// Packs columns of B into panels of kNr columns: for every k-group q, the 4 bytes of
// column j's group q, columns in order (the "VNNI" layout the dot instructions read).
// Rows of B are read in order; each element lands in its byte of the group. Elements past
// k in the last group are zero (A's are too, but a stale bf16 Inf times zero is NaN).
// Columns past n in the last panel only feed tile columns that are never written back.
template <typename T>
const Panel& pack_b(const T* b, std::size_t n, std::size_t k, std::size_t group, int threads) {
  const std::size_t groups = (k + group - 1) / group, panels = (n + kNr - 1) / kNr;
  thread_local Panel buffer;
  Panel& out = grown(buffer, panels * groups * kNr);
  auto* bytes = reinterpret_cast<T*>(out.data());  // group = 4 bytes = `group` elements of T
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t q = 0; q < groups; ++q)
    for (std::size_t e = 0; e < group; ++e) {
      const bool past_k = q * group + e >= k;
      const T* row = past_k ? nullptr : &b[(q * group + e) * n];
      for (std::size_t j = 0; j < n; ++j)
        bytes[(((j / kNr) * groups + q) * kNr + j % kNr) * group + e] = past_k ? T(0) : row[j];
    }
  return out;
}

// The register tile in assembly. Compiled from intrinsics, the destructive accumulate of
// vpdpbusd / vdpbf16ps over an array of 16 accumulators made GCC 12 copy every
// accumulator through a second register (and spill two) on each k-group: 34 moves per
// 16 dot products, which capped the kernel near half of the measured peak. Here the 16
// accumulators live in zmm16..zmm31 for the whole loop; zmm0/zmm1 hold the two B vectors
// and zmm2..zmm9 the eight broadcast A groups. Per k-group: 10 loads, 16 dot products.
#define ROOFAUDIT_TILE_ROW(OP, OFF, BR, ACC0, ACC1)  \
  "vpbroadcastd " OFF "(%[a]), %%zmm" BR "\n\t"     \
  OP " %%zmm0, %%zmm" BR ", %%zmm" ACC0 "\n\t"      \
  OP " %%zmm1, %%zmm" BR ", %%zmm" ACC1 "\n\t"

#define ROOFAUDIT_TILE_LOOP(OP)                                                      \
  "vpxord %%zmm16, %%zmm16, %%zmm16\n\t vmovdqa64 %%zmm16, %%zmm17\n\t"               \
  "vmovdqa64 %%zmm16, %%zmm18\n\t vmovdqa64 %%zmm16, %%zmm19\n\t"                     \
  "vmovdqa64 %%zmm16, %%zmm20\n\t vmovdqa64 %%zmm16, %%zmm21\n\t"                     \
  "vmovdqa64 %%zmm16, %%zmm22\n\t vmovdqa64 %%zmm16, %%zmm23\n\t"                     \
  "vmovdqa64 %%zmm16, %%zmm24\n\t vmovdqa64 %%zmm16, %%zmm25\n\t"                     \
  "vmovdqa64 %%zmm16, %%zmm26\n\t vmovdqa64 %%zmm16, %%zmm27\n\t"                     \
  "vmovdqa64 %%zmm16, %%zmm28\n\t vmovdqa64 %%zmm16, %%zmm29\n\t"                     \
  "vmovdqa64 %%zmm16, %%zmm30\n\t vmovdqa64 %%zmm16, %%zmm31\n\t"                     \
  "1:\n\t"                                                                           \
  "vmovdqa64 (%[b]), %%zmm0\n\t"                                                     \
  "vmovdqa64 64(%[b]), %%zmm1\n\t"                                                   \
  ROOFAUDIT_TILE_ROW(OP, "0", "2", "16", "17")                                       \
  ROOFAUDIT_TILE_ROW(OP, "4", "3", "18", "19")                                       \
  ROOFAUDIT_TILE_ROW(OP, "8", "4", "20", "21")                                       \
  ROOFAUDIT_TILE_ROW(OP, "12", "5", "22", "23")                                      \
  ROOFAUDIT_TILE_ROW(OP, "16", "6", "24", "25")                                      \
  ROOFAUDIT_TILE_ROW(OP, "20", "7", "26", "27")                                      \
  ROOFAUDIT_TILE_ROW(OP, "24", "8", "28", "29")                                      \
  ROOFAUDIT_TILE_ROW(OP, "28", "9", "30", "31")                                      \
  "add $32, %[a]\n\t"                                                                \
  "add $128, %[b]\n\t"                                                               \
  "dec %[q]\n\t"                                                                     \
  "jnz 1b\n\t"                                                                       \
  "vmovdqu32 %%zmm16, 0(%[out])\n\t vmovdqu32 %%zmm17, 64(%[out])\n\t"               \
  "vmovdqu32 %%zmm18, 128(%[out])\n\t vmovdqu32 %%zmm19, 192(%[out])\n\t"            \
  "vmovdqu32 %%zmm20, 256(%[out])\n\t vmovdqu32 %%zmm21, 320(%[out])\n\t"            \
  "vmovdqu32 %%zmm22, 384(%[out])\n\t vmovdqu32 %%zmm23, 448(%[out])\n\t"            \
  "vmovdqu32 %%zmm24, 512(%[out])\n\t vmovdqu32 %%zmm25, 576(%[out])\n\t"            \
  "vmovdqu32 %%zmm26, 640(%[out])\n\t vmovdqu32 %%zmm27, 704(%[out])\n\t"            \
  "vmovdqu32 %%zmm28, 768(%[out])\n\t vmovdqu32 %%zmm29, 832(%[out])\n\t"            \
  "vmovdqu32 %%zmm30, 896(%[out])\n\t vmovdqu32 %%zmm31, 960(%[out])\n\t"

#define ROOFAUDIT_TILE_CLOBBERS                                                                      \
  "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm16", "zmm17",   \
      "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "zmm28", \
      "zmm29", "zmm30", "zmm31", "memory", "cc"

// One kMr x kNr tile over `groups` >= 1 k-groups into `out` (row-major, row stride kNr),
// overwriting it. ap: kMr groups per k-group; bp: kNr groups per k-group, 64-byte aligned.
__attribute__((target("avx512f"))) void tile_bf16(const std::uint32_t* ap, const std::uint32_t* bp,
                                                  std::size_t groups, float* out) {
  asm volatile(ROOFAUDIT_TILE_LOOP("vdpbf16ps")
               : [a] "+r"(ap), [b] "+r"(bp), [q] "+r"(groups)
               : [out] "r"(out)
               : ROOFAUDIT_TILE_CLOBBERS);
}
__attribute__((target("avx512f"))) void tile_int8(const std::uint32_t* ap, const std::uint32_t* bp,
                                                  std::size_t groups, std::int32_t* out) {
  // vpdpbusd: accumulator += (u8 of the second source) . (s8 of the first), i.e. A . B.
  asm volatile(ROOFAUDIT_TILE_LOOP("vpdpbusd")
               : [a] "+r"(ap), [b] "+r"(bp), [q] "+r"(groups)
               : [out] "r"(out)
               : ROOFAUDIT_TILE_CLOBBERS);
}

#undef ROOFAUDIT_TILE_ROW
#undef ROOFAUDIT_TILE_LOOP
#undef ROOFAUDIT_TILE_CLOBBERS

// Narrow tiles for the last one or two vectors of a small batch: at B = 1 the 8-row tile
// spends 16 dot products on every 128 bytes of weights, 8x the work, and it measured 60%
// of the DRAM read bandwidth instead of the memory-bound 90%+. These do Mr x 2 dot products
// per k-group, with k-groups in pairs on separate accumulators to cover the latency.
// ap: vector i's group q at ap[q * kMr + i] (the 8-vector activation panels).
struct Int8Dot {
  using Acc = __m512i;
  using Out = std::int32_t;
  __attribute__((target("avx512vnni"))) static Acc dot(Acc acc, __m512i a, __m512i b) {
    return _mm512_dpbusd_epi32(acc, a, b);
  }
  static Acc add(Acc x, Acc y) { return _mm512_add_epi32(x, y); }
  static void store(Out* p, Acc v) { _mm512_storeu_si512(p, v); }
};
struct Bf16Dot {
  using Acc = __m512;
  using Out = float;
  __attribute__((target("avx512bf16"))) static Acc dot(Acc acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
  }
  static Acc add(Acc x, Acc y) { return _mm512_add_ps(x, y); }
  static void store(Out* p, Acc v) { _mm512_storeu_ps(p, v); }
};

// Software prefetch 8 KiB ahead of the weight stream: the hardware prefetchers alone left
// B = 1 at 83% of the read bandwidth; 1, 2, 4 and 8 KiB ahead measured 92%, 95%, 96%, 87%.
constexpr std::size_t kPrefetchGroups = 8192 / (kNr * 4);

template <typename Dot, std::size_t Mr>
__attribute__((target("avx512f,avx512vnni,avx512bf16"))) void tile_narrow(const std::uint32_t* ap,
                                                                         const std::uint32_t* bp, std::size_t groups,
                                                                         typename Dot::Out* out) {
  using Acc = typename Dot::Acc;
  constexpr bool kSplit = Mr <= 2;  // pairs of k-groups on separate accumulators
  Acc even[Mr][2], odd[Mr][2];
  for (std::size_t i = 0; i < Mr; ++i) even[i][0] = even[i][1] = odd[i][0] = odd[i][1] = Acc{};
  std::size_t q = 0;
  for (; q + 2 <= groups; q += 2) {
    for (std::size_t l = 0; l < 4; ++l)
      _mm_prefetch(reinterpret_cast<const char*>(bp + (q + kPrefetchGroups) * kNr + 16 * l), _MM_HINT_T0);
    const __m512i b0 = _mm512_load_si512(bp + q * kNr), b1 = _mm512_load_si512(bp + q * kNr + 16);
    const __m512i b2 = _mm512_load_si512(bp + q * kNr + 32), b3 = _mm512_load_si512(bp + q * kNr + 48);
    for (std::size_t i = 0; i < Mr; ++i) {
      const __m512i a0 = _mm512_set1_epi32(int(ap[q * kMr + i])), a1 = _mm512_set1_epi32(int(ap[(q + 1) * kMr + i]));
      even[i][0] = Dot::dot(even[i][0], a0, b0);
      even[i][1] = Dot::dot(even[i][1], a0, b1);
      auto& second = kSplit ? odd[i] : even[i];
      second[0] = Dot::dot(second[0], a1, b2);
      second[1] = Dot::dot(second[1], a1, b3);
    }
  }
  if (q < groups) {
    const __m512i b0 = _mm512_load_si512(bp + q * kNr), b1 = _mm512_load_si512(bp + q * kNr + 16);
    for (std::size_t i = 0; i < Mr; ++i) {
      const __m512i a0 = _mm512_set1_epi32(int(ap[q * kMr + i]));
      even[i][0] = Dot::dot(even[i][0], a0, b0);
      even[i][1] = Dot::dot(even[i][1], a0, b1);
    }
  }
  for (std::size_t i = 0; i < Mr; ++i) {
    Dot::store(out + i * kNr, Dot::add(even[i][0], odd[i][0]));
    Dot::store(out + i * kNr + 16, Dot::add(even[i][1], odd[i][1]));
  }
}

// Columns split over threads by panels of kNr. Each thread walks k in blocks of kKc
// groups (its B panel, 32 KiB, stays in L1) and accumulates every tile into C directly:
// the first k-block stores, the later ones add.
template <typename Out, void (*Tile)(const std::uint32_t*, const std::uint32_t*, std::size_t, Out*), typename TA,
          typename TB>
void gemm_packed(const TA* a, const TB* b, Out* c, std::size_t m, std::size_t n, std::size_t k, std::size_t group,
                 int threads) {
  const std::size_t groups = (k + group - 1) / group;
  const Panel& ap = pack_a(a, m, k, group, threads);
  const Panel& bp = pack_b(b, n, k, group, threads);
  const std::size_t m_panels = (m + kMr - 1) / kMr, n_panels = (n + kNr - 1) / kNr;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t jp = 0; jp < n_panels; ++jp) {
    alignas(64) Out part[kMr * kNr];
    const std::size_t j0 = jp * kNr, cols = std::min(kNr, n - j0);
    for (std::size_t q0 = 0; q0 < groups; q0 += kKc) {
      const std::size_t qn = std::min(kKc, groups - q0);
      const std::uint32_t* bpanel = &bp[(jp * groups + q0) * kNr];
      for (std::size_t ip = 0; ip < m_panels; ++ip) {
        Tile(&ap[(ip * groups + q0) * kMr], bpanel, qn, part);
        const std::size_t i0 = ip * kMr, rows = std::min(kMr, m - i0);
        for (std::size_t i = 0; i < rows; ++i) {
          Out* crow = &c[(i0 + i) * n + j0];
          const Out* prow = &part[i * kNr];
          if (q0 == 0)
            for (std::size_t j = 0; j < cols; ++j) crow[j] = prow[j];
          else
            for (std::size_t j = 0; j < cols; ++j) crow[j] += prow[j];
        }
      }
    }
  }
}

// Activations into panels of kMr vectors, for every k-group the group of each vector in
// turn; vectors past `batch` and elements past k are zero. `flip` is XORed into every
// group of a real vector: 0x80808080 turns signed bytes into unsigned ones offset by 128.
template <typename T>
const Panel& pack_activations(const T* x, std::size_t batch, std::size_t k, std::size_t group, std::uint32_t flip) {
  const std::size_t groups = (k + group - 1) / group, panels = (batch + kMr - 1) / kMr;
  thread_local Panel buffer;
  Panel& out = grown(buffer, panels * groups * kMr);
  for (std::size_t p = 0; p < panels; ++p)
    for (std::size_t i = 0; i < kMr; ++i) {
      const std::size_t b = p * kMr + i;
      std::uint32_t* dst = &out[p * groups * kMr + i];
      for (std::size_t q = 0; q < groups; ++q) {
        T g[4] = {};
        if (b < batch)
          for (std::size_t e = 0; e < group && q * group + e < k; ++e) g[e] = x[b * k + q * group + e];
        std::uint32_t word;
        std::memcpy(&word, g, 4);
        if (b < batch) word ^= flip;  // padding bytes meet zero weights either way
        dst[q * kMr] = word;
      }
    }
  return out;
}

// Every thread takes whole weight panels (kNr rows, all of k) in order, so each streams
// its own contiguous part of the weights exactly once per step; per panel, the batch's
// tiles accumulate over blocks of kKc k-groups and `finish` writes each result.
template <typename Dot, void (*Tile)(const std::uint32_t*, const std::uint32_t*, std::size_t, typename Dot::Out*),
          typename Finish>
void decode_tiles(const std::uint32_t* w, std::size_t rows, std::size_t groups, const Panel& xp, std::size_t batch,
                  const Finish& finish, int threads) {
  using Acc = typename Dot::Out;
  const std::size_t m_panels = (batch + kMr - 1) / kMr, n_panels = (rows + kNr - 1) / kNr;
#pragma omp parallel num_threads(threads)
  {
    AlignedVector<Acc> acc(m_panels * kMr * kNr);
    alignas(64) Acc part[kMr * kNr];
#pragma omp for schedule(static)
    for (std::size_t jp = 0; jp < n_panels; ++jp) {
      for (std::size_t q0 = 0; q0 < groups; q0 += kKc) {
        const std::size_t qn = std::min(kKc, groups - q0);
        for (std::size_t ip = 0; ip < m_panels; ++ip) {
          const std::uint32_t* a_panel = &xp[(ip * groups + q0) * kMr];
          const std::uint32_t* w_panel = &w[(jp * groups + q0) * kNr];
          const std::size_t vectors = std::min(kMr, batch - ip * kMr);
          if (vectors > 4) {
            Tile(a_panel, w_panel, qn, part);
          } else {  // 1-4 vectors: a narrow tile
            constexpr void (*narrow[])(const std::uint32_t*, const std::uint32_t*, std::size_t, Acc*) = {
                tile_narrow<Dot, 1>, tile_narrow<Dot, 2>, tile_narrow<Dot, 3>, tile_narrow<Dot, 4>};
            narrow[vectors - 1](a_panel, w_panel, qn, part);
          }
          // Only the rows of real vectors: a narrow tile leaves the others as they were.
          Acc* a = &acc[ip * kMr * kNr];
          if (q0 == 0)
            for (std::size_t t = 0; t < vectors * kNr; ++t) a[t] = part[t];
          else
            for (std::size_t t = 0; t < vectors * kNr; ++t) a[t] += part[t];
        }
      }
      const std::size_t r0 = jp * kNr, cols = std::min(kNr, rows - r0);
      for (std::size_t b = 0; b < batch; ++b) {
        const Acc* a = &acc[(b / kMr) * kMr * kNr + (b % kMr) * kNr];
        for (std::size_t c = 0; c < cols; ++c) finish(b, r0 + c, a[c]);
      }
    }
  }
}

}  // namespace

}  // namespace roofaudit::kernels

namespace roofaudit::kernels::lowp {

void gemm_bf16_dot(const std::uint16_t* a, const std::uint16_t* b, float* c, std::size_t m, std::size_t n,
                   std::size_t k, int threads) {
  gemm_packed<float, tile_bf16>(a, b, c, m, n, k, 2, threads);
}

const std::uint32_t* pack_dot_int8(const std::int8_t* b, std::size_t n, std::size_t k, int threads) {
  return pack_b(b, n, k, 4, threads).data();
}
const std::uint32_t* pack_dot_bf16(const std::uint16_t* b, std::size_t n, std::size_t k, int threads) {
  return pack_b(b, n, k, 2, threads).data();
}

void gemm_int8_dot(const std::uint8_t* a, const std::int8_t* b, std::int32_t* c, std::size_t m, std::size_t n,
                   std::size_t k, int threads) {
  gemm_packed<std::int32_t, tile_int8>(a, b, c, m, n, k, 4, threads);
}

void decode_tiles_int8(const std::uint32_t* w, std::size_t rows, std::size_t k, const std::int32_t* row_sum,
                       const float* row_scale, const std::int8_t* x, const float* x_scale, std::size_t batch,
                       float* y, int threads) {
  const Panel& xp = pack_activations(x, batch, k, 4, 0x80808080u);
  decode_tiles<Int8Dot, tile_int8>(
      w, rows, (k + 3) / 4, xp, batch,
      [&](std::size_t b, std::size_t r, std::int32_t dot) {
        y[b * rows + r] = float(dot - 128 * row_sum[r]) * row_scale[r] * x_scale[b];
      },
      threads);
}

void decode_tiles_bf16(const std::uint32_t* w, std::size_t rows, std::size_t k, const std::uint16_t* x,
                       std::size_t batch, float* y, int threads) {
  const Panel& xp = pack_activations(x, batch, k, 2, 0);
  decode_tiles<Bf16Dot, tile_bf16>(
      w, rows, (k + 1) / 2, xp, batch, [&](std::size_t b, std::size_t r, float dot) { y[b * rows + r] = dot; },
      threads);
}

}  // namespace roofaudit::kernels::lowp
