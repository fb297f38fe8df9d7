// One definition of the streaming kernels, included by one translation unit per ISA.
// The including file defines ROOFAUDIT_VEC_BYTES and ROOFAUDIT_ISA_NS and is compiled
// with the matching -m flags; GCC vector extensions then lower to that ISA's vectors.
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/stream.hpp"

namespace roofaudit::kernels::ROOFAUDIT_ISA_NS {

using vu64 = std::uint64_t __attribute__((vector_size(ROOFAUDIT_VEC_BYTES)));
using vf64 = double __attribute__((vector_size(ROOFAUDIT_VEC_BYTES)));
inline constexpr std::size_t kLanes = ROOFAUDIT_VEC_BYTES / 8;
// Eight independent accumulators cover add latency x two load ports on current cores.
inline constexpr std::size_t kUnroll = 8;
static_assert(kStreamBlockElems % (kLanes * kUnroll) == 0);

// Between passes: stops the compiler from merging or dropping passes whose stores are
// identical; emits no instruction.
inline void pass_barrier() { asm volatile("" ::: "memory"); }

template <typename V, typename T>
inline V load(const T* p) {
  return *reinterpret_cast<const V*>(__builtin_assume_aligned(p, ROOFAUDIT_VEC_BYTES));
}
template <typename V, typename T>
inline void store(T* p, V v) {
  *reinterpret_cast<V*>(__builtin_assume_aligned(p, ROOFAUDIT_VEC_BYTES)) = v;
}
// Non-temporal stores of two vectors: they bypass the caches, so no read-for-ownership
// of the target line. AArch64 has it only as a pair (stnp), so the pair is the unit.
inline void store_nt_pair(std::uint64_t* p, vu64 a, vu64 b) {
#if defined(__aarch64__)
  static_assert(ROOFAUDIT_VEC_BYTES == 16);
  asm volatile("stnp %q0, %q1, [%2]" : : "w"(a), "w"(b), "r"(p) : "memory");
#elif ROOFAUDIT_VEC_BYTES == 64
  _mm512_stream_si512(reinterpret_cast<__m512i*>(p), reinterpret_cast<__m512i&>(a));
  _mm512_stream_si512(reinterpret_cast<__m512i*>(p + kLanes), reinterpret_cast<__m512i&>(b));
#elif ROOFAUDIT_VEC_BYTES == 32
  _mm256_stream_si256(reinterpret_cast<__m256i*>(p), reinterpret_cast<__m256i&>(a));
  _mm256_stream_si256(reinterpret_cast<__m256i*>(p + kLanes), reinterpret_cast<__m256i&>(b));
#else
  _mm_stream_si128(reinterpret_cast<__m128i*>(p), reinterpret_cast<__m128i&>(a));
  _mm_stream_si128(reinterpret_cast<__m128i*>(p + kLanes), reinterpret_cast<__m128i&>(b));
#endif
}
// After non-temporal stores: x86's are weakly ordered and need sfence to be published;
// AArch64's follow the normal ordering, and the barrier makes them visible the same way.
inline void publish_nt() {
#if defined(__aarch64__)
  asm volatile("dmb ishst" ::: "memory");
#else
  _mm_sfence();
#endif
}

std::uint64_t read_sum(const std::uint64_t* a, std::size_t n, std::size_t passes) {
  vu64 acc[kUnroll] = {};
  for (std::size_t p = 0; p < passes; ++p) {
    for (std::size_t i = 0; i < n; i += kLanes * kUnroll) {
#pragma GCC unroll 8
      for (std::size_t u = 0; u < kUnroll; ++u) acc[u] += load<vu64>(a + i + u * kLanes);
    }
    pass_barrier();
  }
  vu64 total = acc[0];
#pragma GCC unroll 8
  for (std::size_t u = 1; u < kUnroll; ++u) total += acc[u];
  std::uint64_t sum = 0;
  for (std::size_t l = 0; l < kLanes; ++l) sum += total[l];
  return sum;
}

// One body for the regular and the non-temporal variant of each store kernel: vectors
// u and u + 1 of an unrolled step go out together.
template <bool kNonTemporal>
inline void put_pair(std::uint64_t* p, vu64 a, vu64 b) {
  if constexpr (kNonTemporal) {
    store_nt_pair(p, a, b);
  } else {
    store(p, a);
    store(p + kLanes, b);
  }
}

template <bool kNonTemporal>
void fill_impl(std::uint64_t* a, std::size_t n, std::uint64_t value, std::size_t passes) {
  const vu64 v = vu64{} + value;
  for (std::size_t p = 0; p < passes; ++p) {
    for (std::size_t i = 0; i < n; i += kLanes * kUnroll) {
#pragma GCC unroll 4
      for (std::size_t u = 0; u < kUnroll; u += 2) put_pair<kNonTemporal>(a + i + u * kLanes, v, v);
    }
    pass_barrier();
  }
  if constexpr (kNonTemporal) publish_nt();
}

template <bool kNonTemporal>
void copy_impl(std::uint64_t* dst, const std::uint64_t* src, std::size_t n, std::size_t passes) {
  for (std::size_t p = 0; p < passes; ++p) {
    for (std::size_t i = 0; i < n; i += kLanes * kUnroll) {
#pragma GCC unroll 4
      for (std::size_t u = 0; u < kUnroll; u += 2)
        put_pair<kNonTemporal>(dst + i + u * kLanes, load<vu64>(src + i + u * kLanes),
                               load<vu64>(src + i + (u + 1) * kLanes));
    }
    pass_barrier();
  }
  if constexpr (kNonTemporal) publish_nt();
}

void fill(std::uint64_t* a, std::size_t n, std::uint64_t value, std::size_t passes) {
  fill_impl<false>(a, n, value, passes);
}
void fill_nt(std::uint64_t* a, std::size_t n, std::uint64_t value, std::size_t passes) {
  fill_impl<true>(a, n, value, passes);
}
void copy(std::uint64_t* dst, const std::uint64_t* src, std::size_t n, std::size_t passes) {
  copy_impl<false>(dst, src, n, passes);
}
void copy_nt(std::uint64_t* dst, const std::uint64_t* src, std::size_t n, std::size_t passes) {
  copy_impl<true>(dst, src, n, passes);
}

void triad(double* a, const double* b, const double* c, double scalar, std::size_t n, std::size_t passes) {
  const vf64 s = vf64{} + scalar;
  for (std::size_t p = 0; p < passes; ++p) {
    for (std::size_t i = 0; i < n; i += kLanes * kUnroll) {
#pragma GCC unroll 8
      for (std::size_t u = 0; u < kUnroll; ++u) {
        const std::size_t j = i + u * kLanes;
        store(a + j, load<vf64>(b + j) + s * load<vf64>(c + j));
      }
    }
    pass_barrier();
  }
}

}  // namespace roofaudit::kernels::ROOFAUDIT_ISA_NS

// The ISA's table, kStream_<isa>, which dispatch.cpp picks from.
#define ROOFAUDIT_STREAM_JOIN2(a, b) a##b
#define ROOFAUDIT_STREAM_JOIN(a, b) ROOFAUDIT_STREAM_JOIN2(a, b)
#define ROOFAUDIT_STREAM_TABLE ROOFAUDIT_STREAM_JOIN(kStream_, ROOFAUDIT_ISA_NS)
namespace roofaudit::kernels {
extern const StreamKernels ROOFAUDIT_STREAM_TABLE;
const StreamKernels ROOFAUDIT_STREAM_TABLE = {Isa::ROOFAUDIT_ISA_NS,    ROOFAUDIT_ISA_NS::read_sum, ROOFAUDIT_ISA_NS::fill,
                                              ROOFAUDIT_ISA_NS::fill_nt, ROOFAUDIT_ISA_NS::copy,    ROOFAUDIT_ISA_NS::copy_nt,
                                              ROOFAUDIT_ISA_NS::triad};
}  // namespace roofaudit::kernels
#undef ROOFAUDIT_STREAM_TABLE
#undef ROOFAUDIT_STREAM_JOIN
#undef ROOFAUDIT_STREAM_JOIN2
