// Streaming kernels on SVE vectors of the length the CPU runs (128 bits on Neoverse V2,
// 256 on V1, 512 on A64FX), and their table kStream_sve. Built with +sve for this file
// alone; dispatch.cpp offers it only where the kernel reports SVE.
//
// Four vectors per step: Neoverse V1 and V2 issue up to three loads and two stores per
// cycle, and four independent accumulators cover the integer add's latency at that rate.
// The non-temporal variants use stnt1d, SVE's non-temporal store.
#include <arm_sve.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/stream.hpp"

namespace roofaudit::kernels::sve {

namespace {
inline void pass_barrier() { asm volatile("" ::: "memory"); }

// Lanes per vector; element counts are multiples of kStreamBlockElems (64), which four
// vectors divide up to 1024-bit vectors. Past that the tail loop takes the rest.
inline std::size_t lanes() { return svcntd(); }
}  // namespace

std::uint64_t read_sum(const std::uint64_t* a, std::size_t n, std::size_t passes) {
  const std::size_t l = lanes();
  const svbool_t all = svptrue_b64();
  svuint64_t s0 = svdup_u64(0), s1 = s0, s2 = s0, s3 = s0;
  for (std::size_t p = 0; p < passes; ++p) {
    std::size_t i = 0;
    for (; i + 4 * l <= n; i += 4 * l) {
      s0 = svadd_u64_x(all, s0, svld1_u64(all, a + i));
      s1 = svadd_u64_x(all, s1, svld1_u64(all, a + i + l));
      s2 = svadd_u64_x(all, s2, svld1_u64(all, a + i + 2 * l));
      s3 = svadd_u64_x(all, s3, svld1_u64(all, a + i + 3 * l));
    }
    for (; i < n; i += l) {
      const svbool_t pg = svwhilelt_b64_u64(i, n);
      s0 = svadd_u64_m(pg, s0, svld1_u64(pg, a + i));
    }
    pass_barrier();
  }
  return svaddv_u64(all, svadd_u64_x(all, svadd_u64_x(all, s0, s1), svadd_u64_x(all, s2, s3)));
}

template <bool kNonTemporal>
inline void put(svbool_t pg, std::uint64_t* p, svuint64_t v) {
  if constexpr (kNonTemporal) svstnt1_u64(pg, p, v);
  else svst1_u64(pg, p, v);
}

template <bool kNonTemporal>
void fill_impl(std::uint64_t* a, std::size_t n, std::uint64_t value, std::size_t passes) {
  const std::size_t l = lanes();
  const svbool_t all = svptrue_b64();
  const svuint64_t v = svdup_u64(value);
  for (std::size_t p = 0; p < passes; ++p) {
    std::size_t i = 0;
    for (; i + 4 * l <= n; i += 4 * l) {
      put<kNonTemporal>(all, a + i, v);
      put<kNonTemporal>(all, a + i + l, v);
      put<kNonTemporal>(all, a + i + 2 * l, v);
      put<kNonTemporal>(all, a + i + 3 * l, v);
    }
    for (; i < n; i += l) put<kNonTemporal>(svwhilelt_b64_u64(i, n), a + i, v);
    pass_barrier();
  }
  if constexpr (kNonTemporal) asm volatile("dmb ishst" ::: "memory");
}

template <bool kNonTemporal>
void copy_impl(std::uint64_t* dst, const std::uint64_t* src, std::size_t n, std::size_t passes) {
  const std::size_t l = lanes();
  const svbool_t all = svptrue_b64();
  for (std::size_t p = 0; p < passes; ++p) {
    std::size_t i = 0;
    for (; i + 4 * l <= n; i += 4 * l) {
      const svuint64_t v0 = svld1_u64(all, src + i), v1 = svld1_u64(all, src + i + l);
      const svuint64_t v2 = svld1_u64(all, src + i + 2 * l), v3 = svld1_u64(all, src + i + 3 * l);
      put<kNonTemporal>(all, dst + i, v0);
      put<kNonTemporal>(all, dst + i + l, v1);
      put<kNonTemporal>(all, dst + i + 2 * l, v2);
      put<kNonTemporal>(all, dst + i + 3 * l, v3);
    }
    for (; i < n; i += l) {
      const svbool_t pg = svwhilelt_b64_u64(i, n);
      put<kNonTemporal>(pg, dst + i, svld1_u64(pg, src + i));
    }
    pass_barrier();
  }
  if constexpr (kNonTemporal) asm volatile("dmb ishst" ::: "memory");
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
  const std::size_t l = lanes();
  const svbool_t all = svptrue_b64();
  const svfloat64_t s = svdup_f64(scalar);
  for (std::size_t p = 0; p < passes; ++p) {
    std::size_t i = 0;
    for (; i + 2 * l <= n; i += 2 * l) {
      svst1_f64(all, a + i, svmla_f64_x(all, svld1_f64(all, b + i), s, svld1_f64(all, c + i)));
      svst1_f64(all, a + i + l, svmla_f64_x(all, svld1_f64(all, b + i + l), s, svld1_f64(all, c + i + l)));
    }
    for (; i < n; i += l) {
      const svbool_t pg = svwhilelt_b64_u64(i, n);
      svst1_f64(pg, a + i, svmla_f64_x(pg, svld1_f64(pg, b + i), s, svld1_f64(pg, c + i)));
    }
    pass_barrier();
  }
}

}  // namespace roofaudit::kernels::sve

namespace roofaudit::kernels {
extern const StreamKernels kStream_sve;
const StreamKernels kStream_sve = {Isa::sve, sve::read_sum, sve::fill, sve::fill_nt, sve::copy, sve::copy_nt, sve::triad};
}  // namespace roofaudit::kernels
