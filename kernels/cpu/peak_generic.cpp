// Scalar peak kernels for CPUs without AVX2/FMA (and as the forced fallback in tests):
// a multiply and a dependent add per chain step.
#include "kernels/cpu/peak.hpp"
#include "kernels/cpu/peak_impl.hpp"

#include <cstdint>

namespace roofaudit::kernels::generic_peak {
using peak_detail::start_sum;

constexpr int kChains = 8;

template <typename T>
double chains(std::size_t iterations) {
  T acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = T(c);
  volatile T one_source = 1, inc_source = 1;  // opaque: no folding into a closed form
  const T one = one_source, inc = inc_source;
  for (std::size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 8
    for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * one + inc;
  }
  double sum = 0;
  for (T v : acc) sum += double(v);
  return sum;
}

double fp64(std::size_t iterations) { return chains<double>(iterations); }
double fp32(std::size_t iterations) { return chains<float>(iterations); }
// int8 without vectors: an int32 multiply and add per step (the portable kernels' work).
double int32(std::size_t iterations) { return chains<std::int32_t>(iterations); }
// bf16 without vectors: widened to fp32 as it is loaded, then fp32 arithmetic.
double expected(std::size_t iterations) { return start_sum(kChains, 1) + double(kChains) * double(iterations); }

}  // namespace roofaudit::kernels::generic_peak
