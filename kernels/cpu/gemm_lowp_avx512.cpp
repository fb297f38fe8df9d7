#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "kernels/cpu/gemm_lowp.hpp"

namespace roofaudit::kernels {
namespace {

constexpr std::size_t kMr = 8;    // rows per register tile
constexpr std::size_t kNr = 32;   // columns per register tile: two 16-lane vectors
constexpr std::size_t kKc = 256;

// 64-byte aligned storage: a 64-byte vector load from a 16-byte aligned panel would split
// across two cache lines on every load.
template <typename T>
struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <typename U>
  Aligned64(const Aligned64<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{64}); }
  bool operator==(const Aligned64&) const { return true; }
};
using Panel = std::vector<std::uint32_t, Aligned64<std::uint32_t>>;  // k-groups per block: a B panel of 256 x 32 x 4 B = 32 KiB stays in L1

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

}  // namespace

bool lowp_gemm_supported_bf16() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
}
bool lowp_gemm_supported_int8() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}

void gemm_bf16(const std::uint16_t* a, const std::uint16_t* b, float* c, std::size_t m, std::size_t n, std::size_t k,
               int threads) {
  gemm_packed<float, tile_bf16>(a, b, c, m, n, k, 2, threads);
}

void gemm_int8(const std::uint8_t* a, const std::int8_t* b, std::int32_t* c, std::size_t m, std::size_t n,
               std::size_t k, int threads) {
  gemm_packed<std::int32_t, tile_int8>(a, b, c, m, n, k, 4, threads);
}

}  // namespace roofaudit::kernels
