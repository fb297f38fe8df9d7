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

// Packs rows of A into panels of kMr rows: panel p holds, for every k-group q, the 4 bytes
// of group q of rows p*kMr .. p*kMr+7 (zero past m and past k). Rows are read in order.
template <typename T>
Panel pack_a(const T* a, std::size_t m, std::size_t k, std::size_t group, int threads) {
  const std::size_t groups = (k + group - 1) / group, panels = (m + kMr - 1) / kMr;
  Panel out(panels * groups * kMr, 0);
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
// Rows of B are read in order; each element lands in its byte of the group.
template <typename T>
Panel pack_b(const T* b, std::size_t n, std::size_t k, std::size_t group, int threads) {
  const std::size_t groups = (k + group - 1) / group, panels = (n + kNr - 1) / kNr;
  Panel out(panels * groups * kNr, 0);
  auto* bytes = reinterpret_cast<T*>(out.data());  // group = 4 bytes = `group` elements of T
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t q = 0; q < groups; ++q)
    for (std::size_t e = 0; e < group && q * group + e < k; ++e) {
      const T* row = &b[(q * group + e) * n];
      for (std::size_t j = 0; j < n; ++j) bytes[(((j / kNr) * groups + q) * kNr + j % kNr) * group + e] = row[j];
    }
  return out;
}

struct Bf16Dot {
  using Acc = __m512;
  using Out = float;
  static Acc zero() { return _mm512_setzero_ps(); }
  __attribute__((target("avx512bf16"))) static Acc dot(Acc acc, __m512i a, __m512i b) {
    return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
  }
  static void store(Out* p, Acc v) { _mm512_storeu_ps(p, v); }
};

struct Int8Dot {
  using Acc = __m512i;
  using Out = std::int32_t;
  static Acc zero() { return _mm512_setzero_si512(); }
  __attribute__((target("avx512vnni"))) static Acc dot(Acc acc, __m512i a, __m512i b) {
    return _mm512_dpbusd_epi32(acc, a, b);
  }
  static void store(Out* p, Acc v) { _mm512_storeu_si512(p, v); }
};

// One kMr x kNr tile over `groups` k-groups, added into `tile` (row stride kNr).
template <typename Dot>
__attribute__((target("avx512bf16,avx512vnni"))) inline void micro_kernel(const std::uint32_t* ap,
                                                                          const std::uint32_t* bp, std::size_t groups,
                                                                          typename Dot::Out* tile) {
  typename Dot::Acc acc[kMr][2];
  for (auto& row : acc) row[0] = row[1] = Dot::zero();
  for (std::size_t q = 0; q < groups; ++q) {
    const __m512i b0 = _mm512_load_si512(bp + q * kNr);
    const __m512i b1 = _mm512_load_si512(bp + q * kNr + 16);
#pragma GCC unroll 8
    for (std::size_t i = 0; i < kMr; ++i) {
      const __m512i a = _mm512_set1_epi32(int(ap[q * kMr + i]));  // folds into a {1to16} operand
      acc[i][0] = Dot::dot(acc[i][0], a, b0);
      acc[i][1] = Dot::dot(acc[i][1], a, b1);
    }
  }
  for (std::size_t i = 0; i < kMr; ++i) {
    typename Dot::Out part[kNr];
    Dot::store(part, acc[i][0]);
    Dot::store(part + 16, acc[i][1]);
    for (std::size_t j = 0; j < kNr; ++j) tile[i * kNr + j] += part[j];
  }
}

template <typename Dot, typename TA, typename TB>
void gemm_packed(const TA* a, const TB* b, typename Dot::Out* c, std::size_t m, std::size_t n, std::size_t k,
                 std::size_t group, int threads) {
  using Out = typename Dot::Out;
  const std::size_t groups = (k + group - 1) / group;
  const auto ap = pack_a(a, m, k, group, threads);
  const auto bp = pack_b(b, n, k, group, threads);
  const std::size_t m_panels = (m + kMr - 1) / kMr, n_panels = (n + kNr - 1) / kNr;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t jp = 0; jp < n_panels; ++jp) {
    std::vector<Out, Aligned64<Out>> tiles(m_panels * kMr * kNr, Out(0));
    for (std::size_t q0 = 0; q0 < groups; q0 += kKc) {
      const std::size_t qn = std::min(kKc, groups - q0);
      const std::uint32_t* bpanel = &bp[(jp * groups + q0) * kNr];
      for (std::size_t ip = 0; ip < m_panels; ++ip)
        micro_kernel<Dot>(&ap[(ip * groups + q0) * kMr], bpanel, qn, &tiles[ip * kMr * kNr]);
    }
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = jp * kNr; j < std::min(n, (jp + 1) * kNr); ++j)
        c[i * n + j] = tiles[((i / kMr) * kMr + i % kMr) * kNr + (j - jp * kNr)];
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
  gemm_packed<Bf16Dot>(a, b, c, m, n, k, 2, threads);
}

void gemm_int8(const std::uint8_t* a, const std::int8_t* b, std::int32_t* c, std::size_t m, std::size_t n,
               std::size_t k, int threads) {
  gemm_packed<Int8Dot>(a, b, c, m, n, k, 4, threads);
}

}  // namespace roofaudit::kernels
